namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A page of history, ascending by seq.</summary>
/// <param name="Messages">The page.</param>
/// <param name="LastSeq">The conversation's last seq.</param>
/// <param name="HistoryStartsAfterSeq">
/// In a group that keeps its history from new members, the seq after which the caller's history starts: nothing up to it
/// is answered, and a client that has the message after it has all the caller may read. 0 otherwise.
/// </param>
public sealed record HistoryResponse(IReadOnlyList<MessageView> Messages, long LastSeq, long HistoryStartsAfterSeq = 0);
