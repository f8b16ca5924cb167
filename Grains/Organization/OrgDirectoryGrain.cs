using Orleans.Im.Messages;

namespace Orleans.Im.Organization;

/// <inheritdoc cref="IOrgDirectoryGrain"/>
public sealed class OrgDirectoryGrain(
    [PersistentState("directory", StorageNames.Grains)] IPersistentState<OrgDirectoryState> state,
    ImClock clock) : Grain, IOrgDirectoryGrain
{
    /// <summary>Departments one directory may hold.</summary>
    public const int MaxDepartments = IOrgDirectoryGrain.MaxDepartments;

    /// <summary>Members of one department.</summary>
    public const int MaxMembersPerDepartment = IOrgDirectoryGrain.MaxMembersPerDepartment;

    /// <summary>The longest department name, in characters.</summary>
    public const int MaxNameLength = IOrgDirectoryGrain.MaxNameLength;

    /// <summary>
    /// Removed departments kept for incremental sync: the oldest beyond are dropped (clients that synced before them get
    /// the whole directory), so that departments made and removed over the years do not grow the state without end.
    /// </summary>
    public const int MaxTombstones = 1000;

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
        // A version from another history (newer than anything here), or from before a removal no longer kept, cannot be
        // trusted: send everything current, and say so (the client drops what it holds that is not in it).
        var full = afterVersion <= 0 || afterVersion > state.State.Version || afterVersion < state.State.ResyncFloor;
        var changed = full
            ? state.State.Departments.Values.Where(d => !d.Removed)
            : state.State.Departments.Values.Where(d => d.Version > afterVersion);
        return Task.FromResult(new DirectoryChanges(state.State.Version, [.. changed.OrderBy(d => d.Version)], full));
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
        var (versionBefore, floorBefore) = (state.State.Version, state.State.ResyncFloor);
        state.State.Departments[department.DepartmentId] = department;
        state.State.Version = version;
        var pruned = PruneTombstones();
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

            foreach (var tombstone in pruned)
            {
                state.State.Departments[tombstone.DepartmentId] = tombstone;
            }

            (state.State.Version, state.State.ResyncFloor) = (versionBefore, floorBefore);
            DeactivateOnIdle();
            throw;
        }
    }

    /// <summary>Drops the oldest removals beyond <see cref="MaxTombstones"/>, raising the resync floor; returns them.</summary>
    private List<Department> PruneTombstones()
    {
        var tombstones = state.State.Departments.Values.Count(d => d.Removed);
        if (tombstones <= MaxTombstones)
        {
            return [];
        }

        var pruned = state.State.Departments.Values.Where(d => d.Removed).OrderBy(d => d.Version).Take(tombstones - MaxTombstones).ToList();
        foreach (var department in pruned)
        {
            state.State.Departments.Remove(department.DepartmentId);
            state.State.ResyncFloor = Math.Max(state.State.ResyncFloor, department.Version);
        }

        return pruned;
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
