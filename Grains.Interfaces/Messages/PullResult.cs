namespace Orleans.Im.Messages;

/// <summary>Messages of a pull.</summary>
/// <param name="Status">Ok, or why not.</param>
/// <param name="Messages">In ascending seq, every seq of the range present (tombstones included), so no gap is invented.</param>
/// <param name="LastSeq">The conversation's last seq at the time of the pull.</param>
/// <param name="JoinedAfterSeq">
/// In a group, the last seq when the caller joined it (this time; 0 for those it was created with): messages up to it were
/// said before the caller was in, history to read, not messages to answer. A robot removed and added back while it
/// missed both pushes learns here where its membership starts.
/// </param>
/// <param name="HistoryStartsAfterSeq">
/// In a group that keeps its history from new members, the seq after which the caller's history starts (see
/// <see cref="Groups.GroupMember.HistoryStartsAfterSeq"/>): nothing up to it is answered, so a client that reaches it
/// has the whole history the caller may read and stops asking for older messages. 0 otherwise.
/// </param>
[GenerateSerializer, Immutable, Alias("im.PullResult")]
public sealed record PullResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] IReadOnlyList<ChatMessage> Messages,
    [property: Id(2)] long LastSeq,
    [property: Id(3)] long JoinedAfterSeq = 0,
    [property: Id(4)] long HistoryStartsAfterSeq = 0);
