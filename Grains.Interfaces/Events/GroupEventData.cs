using Orleans.Im.Groups;

namespace Orleans.Im.Events;

/// <summary>
/// The body of group events (<c>group.created</c>, <c>group.members_added</c>, <c>group.member_removed</c>,
/// <c>group.member_left</c>, <c>group.role_changed</c>, <c>group.renamed</c>, <c>group.announcement_set</c>, <c>group.history_set</c>,
/// <c>group.dissolved</c>): whom it concerns; the envelope's user is who did it.
/// </summary>
/// <param name="MemberIds">Whom it concerns (none for a change of the group's own settings).</param>
/// <param name="Role"><c>group.role_changed</c>: the new role.</param>
/// <param name="Name"><c>group.created</c>, <c>group.renamed</c>: the group's name.</param>
/// <param name="MemberCount">How many members the group has after the change (had, for <c>group.dissolved</c>).</param>
/// <param name="HistoryHidden"><c>group.history_set</c>: whether members added from now on read only what is said from their join on.</param>
/// <param name="PreviousName"><c>group.renamed</c>: the name it had before (an audit trail or a search index needs both).</param>
public sealed record GroupEventData(string[] MemberIds, GroupRole? Role = null, string? Name = null, int MemberCount = 0, bool? HistoryHidden = null,
    string? PreviousName = null);
