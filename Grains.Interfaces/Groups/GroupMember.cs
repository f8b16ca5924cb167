namespace Orleans.Im.Groups;

/// <summary>A member of a group.</summary>
/// <param name="UserId">The member.</param>
/// <param name="Role">Owner, admin or member.</param>
/// <param name="JoinedAt">When they joined (this time).</param>
/// <param name="JoinedAfterSeq">
/// The group's last seq when they joined (0 for those it was created with): what came before is history to them, not
/// messages to answer (see <see cref="Messages.PullResult.JoinedAfterSeq"/>).
/// </param>
/// <param name="HistoryStartsAfterSeq">
/// Messages up to this seq are not the member's to read: they were said before the member joined a group that keeps its
/// history from new members (<see cref="GroupInfo.HidesHistoryFromNewMembers"/>, as it was at the join). 0: they read
/// it all (those it was created with, those who joined while it showed its history, and every member stored before
/// groups could hide it).
/// </param>
[GenerateSerializer, Immutable, Alias("im.GroupMember")]
public sealed record GroupMember(
    [property: Id(0)] string UserId,
    [property: Id(1)] GroupRole Role,
    [property: Id(2)] DateTimeOffset JoinedAt,
    [property: Id(3)] long JoinedAfterSeq = 0,
    [property: Id(4)] long HistoryStartsAfterSeq = 0);
