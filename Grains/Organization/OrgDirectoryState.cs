namespace Orleans.Im.Organization;

/// <summary>The directory in grain state; removed departments stay as tombstones for incremental sync.</summary>
[GenerateSerializer, Alias("im.OrgDirectoryState")]
public sealed class OrgDirectoryState
{
    [Id(0)]
    public Dictionary<string, Department> Departments { get; set; } = new(StringComparer.Ordinal);

    [Id(1)]
    public long Version { get; set; }
}
