namespace Orleans.Im.Organization;

/// <summary>A department of the organisation: a node of the tree, with its members.</summary>
/// <param name="DepartmentId">Its id (1-64 of A-Z a-z 0-9 - _ .).</param>
/// <param name="Name">Its name.</param>
/// <param name="ParentId">The department above it; null at the top.</param>
/// <param name="MemberIds">Users in it.</param>
/// <param name="Removed">Deleted: kept so that incremental sync can say so.</param>
/// <param name="Version">The directory's version at its last change.</param>
[GenerateSerializer, Immutable, Alias("im.Department")]
public sealed record Department(
    [property: Id(0)] string DepartmentId,
    [property: Id(1)] string Name,
    [property: Id(2)] string? ParentId,
    [property: Id(3)] IReadOnlyList<string> MemberIds,
    [property: Id(4)] bool Removed,
    [property: Id(5)] long Version);
