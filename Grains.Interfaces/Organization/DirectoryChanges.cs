namespace Orleans.Im.Organization;

/// <summary>
/// Departments changed after a version (removals included), and the version now. When <see cref="Full"/>, the changes
/// could not be told (the version was too old for the removals still kept, or from another history, say a restored
/// database): this is the whole directory, and any department the client holds that is not in it is gone.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.DirectoryChanges")]
public sealed record DirectoryChanges(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<Department> Changed,
    [property: Id(2)] bool Full = false);
