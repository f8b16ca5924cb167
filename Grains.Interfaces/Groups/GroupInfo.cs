namespace Orleans.Im.Groups;

/// <summary>What members see of a group.</summary>
[GenerateSerializer, Immutable, Alias("im.GroupInfo")]
public sealed record GroupInfo(
    [property: Id(0)] string ConversationId,
    [property: Id(1)] string Name,
    [property: Id(2)] string OwnerId,
    [property: Id(3)] string? Announcement,
    [property: Id(4)] int MemberCount,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset? DissolvedAt = null);
