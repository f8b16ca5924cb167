namespace Orleans.Im.Groups;

/// <summary>What members see of a group.</summary>
/// <param name="ConversationId">The group's conversation id (<c>grp:…</c>).</param>
/// <param name="Name">Its name.</param>
/// <param name="OwnerId">Its owner.</param>
/// <param name="Announcement">Its announcement, if any.</param>
/// <param name="MemberCount">How many members it has.</param>
/// <param name="CreatedAt">When it was created.</param>
/// <param name="DissolvedAt">When its owner dissolved it; null while it is not.</param>
/// <param name="HidesHistoryFromNewMembers">
/// Whether members added from now on read only what is said from their join on (what was said before stays theirs who
/// were in then). A member's own start is fixed when they join: changing this later neither hides nor shows history to
/// those in the group already. Groups created before it could be set show their history.
/// </param>
[GenerateSerializer, Immutable, Alias("im.GroupInfo")]
public sealed record GroupInfo(
    [property: Id(0)] string ConversationId,
    [property: Id(1)] string Name,
    [property: Id(2)] string OwnerId,
    [property: Id(3)] string? Announcement,
    [property: Id(4)] int MemberCount,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] DateTimeOffset? DissolvedAt = null,
    [property: Id(7)] bool HidesHistoryFromNewMembers = false);
