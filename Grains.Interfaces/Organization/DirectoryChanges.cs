namespace Orleans.Im.Organization;

/// <summary>Departments changed after a version (removals included), and the version now.</summary>
[GenerateSerializer, Immutable, Alias("im.DirectoryChanges")]
public sealed record DirectoryChanges(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<Department> Changed);
