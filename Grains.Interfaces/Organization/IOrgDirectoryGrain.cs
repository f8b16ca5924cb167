using Orleans.Concurrency;
using Orleans.Im.Messages;

namespace Orleans.Im.Organization;

/// <summary>
/// The organisation directory (office chat): departments and their members. Key: <see cref="DefaultKey"/> (one
/// organisation per deployment). Read by every client with incremental sync; written by the admin API.
/// </summary>
[Alias("im.IOrgDirectoryGrain")]
public interface IOrgDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key of the deployment's directory.</summary>
    const string DefaultKey = "org";

    /// <summary>Members of one department at most.</summary>
    const int MaxMembersPerDepartment = 5_000;

    /// <summary>Departments one directory may hold.</summary>
    const int MaxDepartments = 10_000;

    /// <summary>The longest department name, in characters.</summary>
    const int MaxNameLength = 100;

    /// <summary>Creates or replaces a department; <c>Invalid</c> for bad ids, a missing parent or a cycle.</summary>
    [Alias("Put")]
    Task<AccessStatus> PutAsync(string departmentId, string name, string? parentId, IReadOnlyList<string> memberIds);

    /// <summary>Removes a department; <c>Conflict</c> while it has sub-departments.</summary>
    [Alias("Remove")]
    Task<AccessStatus> RemoveAsync(string departmentId);

    /// <summary>Departments changed after <paramref name="afterVersion"/> (0: the whole current tree).</summary>
    [Alias("GetChanges"), ReadOnly]
    Task<DirectoryChanges> GetChangesAsync(long afterVersion);
}
