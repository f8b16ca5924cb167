using Orleans.Im.Groups;

namespace Orleans.Im.Events;

/// <summary>
/// The body of group events (<c>group.created</c>, <c>group.members_added</c>, <c>group.member_removed</c>,
/// <c>group.member_left</c>, <c>group.role_changed</c>, <c>group.dissolved</c>): whom it concerns; the envelope's user is
/// who did it.
/// </summary>
public sealed record GroupEventData(string[] MemberIds, GroupRole? Role = null, string? Name = null, int MemberCount = 0);
