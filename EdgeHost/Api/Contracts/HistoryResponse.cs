namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A page of history, ascending by seq.</summary>
public sealed record HistoryResponse(IReadOnlyList<MessageView> Messages, long LastSeq);
