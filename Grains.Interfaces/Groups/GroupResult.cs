using Orleans.Im.Messages;

namespace Orleans.Im.Groups;

/// <summary>The outcome of a group operation, with the group as it is afterwards when the caller may see it.</summary>
[GenerateSerializer, Immutable, Alias("im.GroupResult")]
public sealed record GroupResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] GroupInfo? Group,
    [property: Id(2)] string? Error = null);
