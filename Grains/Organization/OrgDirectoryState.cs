namespace Orleans.Im.Organization;

/// <summary>The directory in grain state; removed departments stay as tombstones for incremental sync.</summary>
[GenerateSerializer, Alias("im.OrgDirectoryState")]
public sealed class OrgDirectoryState
{
    [Id(0)]
    public Dictionary<string, Department> Departments { get; set; } = new(StringComparer.Ordinal);

    [Id(1)]
    public long Version { get; set; }

    /// <summary>The newest version of a tombstone dropped (see <see cref="OrgDirectoryGrain.MaxTombstones"/>): a client that synced before it gets the whole directory.</summary>
    [Id(2)]
    public long ResyncFloor { get; set; }
}
