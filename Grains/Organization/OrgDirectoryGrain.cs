using Orleans.Im.Messages;

namespace Orleans.Im.Organization;

/// <inheritdoc cref="IOrgDirectoryGrain"/>
public sealed class OrgDirectoryGrain(
    [PersistentState("directory", StorageNames.Grains)] IPersistentState<OrgDirectoryState> state,
    ImClock clock) : Grain, IOrgDirectoryGrain
{
    /// <summary>Departments one directory may hold.</summary>
    public const int MaxDepartments = 10_000;

    /// <summary>Members of one department.</summary>
    public const int MaxMembersPerDepartment = 5_000;

    /// <summary>The longest department name, in characters.</summary>
    public const int MaxNameLength = 100;

    public async Task<AccessStatus> PutAsync(string departmentId, string name, string? parentId, IReadOnlyList<string> memberIds)
    {
        ArgumentNullException.ThrowIfNull(memberIds);
        var departments = state.State.Departments;
        // A name PostgreSQL's text cannot hold (a NUL, half a surrogate pair) would be served as it is, or stored changed
        // without a new version: refused, as group and display names are.
        if (!GrainKeys.IsValidId(departmentId) || string.IsNullOrWhiteSpace(name) || name.Length > MaxNameLength || !StorableText.IsStorable(name)
            || memberIds.Count > MaxMembersPerDepartment || memberIds.Any(m => !GrainKeys.IsValidUserId(m))
            || (parentId is not null && (!departments.TryGetValue(parentId, out var parent) || parent.Removed || CreatesCycle(departmentId, parentId)))
            || (!Live(departmentId) && departments.Values.Count(d => !d.Removed) >= MaxDepartments))
        {
            return AccessStatus.Invalid;
        }

        await SetAsync(version => new Department(departmentId, name.Trim(), parentId, [.. memberIds.Distinct(StringComparer.Ordinal)], false, version));
        return AccessStatus.Ok;
    }

    public async Task<AccessStatus> RemoveAsync(string departmentId)
    {
        if (!Live(departmentId))
        {
            return AccessStatus.NotFound;
        }

        if (state.State.Departments.Values.Any(d => !d.Removed && d.ParentId == departmentId))
        {
            return AccessStatus.Conflict;
        }

        var removed = state.State.Departments[departmentId];
        await SetAsync(version => removed with { Removed = true, MemberIds = [], Version = version });
        return AccessStatus.Ok;
    }

    public Task<DirectoryChanges> GetChangesAsync(long afterVersion)
    {
        var changed = afterVersion <= 0 || afterVersion > state.State.Version
            ? state.State.Departments.Values.Where(d => !d.Removed)
            : state.State.Departments.Values.Where(d => d.Version > afterVersion);
        return Task.FromResult(new DirectoryChanges(state.State.Version, [.. changed.OrderBy(d => d.Version)]));
    }

    /// <summary>
    /// Writes one department's change, made with the next version. If storage refuses it, the department and the version
    /// before come back and the activation goes (a stale state would be refused again): memory never holds what storage
    /// does not, so the caller's retry makes the change again and no version is handed out twice. Versions are
    /// time-based, as the user grain's are, so they grow across activations whatever was handed out before.
    /// </summary>
    private async Task SetAsync(Func<long, Department> change)
    {
        var version = Math.Max(state.State.Version + 1, clock.UtcNow.ToUnixTimeMilliseconds() * 1000);
        var department = change(version);
        var before = state.State.Departments.GetValueOrDefault(department.DepartmentId);
        var versionBefore = state.State.Version;
        state.State.Departments[department.DepartmentId] = department;
        state.State.Version = version;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            if (before is null)
            {
                state.State.Departments.Remove(department.DepartmentId);
            }
            else
            {
                state.State.Departments[department.DepartmentId] = before;
            }

            state.State.Version = versionBefore;
            DeactivateOnIdle();
            throw;
        }
    }

    private bool Live(string departmentId) =>
        state.State.Departments.TryGetValue(departmentId, out var department) && !department.Removed;

    // A department may not end up under itself.
    private bool CreatesCycle(string departmentId, string parentId)
    {
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (string? current = parentId; current is not null; current = state.State.Departments.GetValueOrDefault(current)?.ParentId)
        {
            if (current == departmentId || !seen.Add(current))
            {
                return true;
            }
        }

        return false;
    }
}
