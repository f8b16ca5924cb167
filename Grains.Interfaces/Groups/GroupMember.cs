namespace Orleans.Im.Groups;

/// <summary>A member of a group.</summary>
[GenerateSerializer, Immutable, Alias("im.GroupMember")]
public sealed record GroupMember(
    [property: Id(0)] string UserId,
    [property: Id(1)] GroupRole Role,
    [property: Id(2)] DateTimeOffset JoinedAt);
