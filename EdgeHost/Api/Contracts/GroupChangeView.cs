using Orleans.Im.Groups;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// The answer to a group creation or an add: the group as <see cref="GroupInfo"/> shows it (the same fields, so a client
/// that reads a group from it reads this too), and <c>NotAdded</c>, the users named who were left out because they let
/// only friends put them into groups (the caller may ask them to become friends first). Users who block the caller are
/// left out too, without a word.
/// </summary>
public sealed record GroupChangeView(
    string ConversationId,
    string Name,
    string OwnerId,
    string? Announcement,
    int MemberCount,
    DateTimeOffset CreatedAt,
    IReadOnlyList<string> NotAdded,
    bool HidesHistoryFromNewMembers)
{
    public static GroupChangeView From(GroupInfo group, IReadOnlyList<string>? notAdded) =>
        new(group.ConversationId, group.Name, group.OwnerId, group.Announcement, group.MemberCount, group.CreatedAt, notAdded ?? [],
            group.HidesHistoryFromNewMembers);
}
