namespace Orleans.Im.Groups;

/// <summary>A member of a group.</summary>
/// <param name="UserId">The member.</param>
/// <param name="Role">Owner, admin or member.</param>
/// <param name="JoinedAt">When they joined (this time).</param>
/// <param name="JoinedAfterSeq">
/// The group's last seq when they joined (0 for those it was created with): what came before is history to them, not
/// messages to answer (see <see cref="Messages.PullResult.JoinedAfterSeq"/>).
/// </param>
[GenerateSerializer, Immutable, Alias("im.GroupMember")]
public sealed record GroupMember(
    [property: Id(0)] string UserId,
    [property: Id(1)] GroupRole Role,
    [property: Id(2)] DateTimeOffset JoinedAt,
    [property: Id(3)] long JoinedAfterSeq = 0);
