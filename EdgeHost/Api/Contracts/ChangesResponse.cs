namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// Messages revised (edited, recalled) after a time, each as it is now, in the order of their latest revisions; with
/// <c>HasMore</c>, ask again after the last one's <c>RevisedAt</c>.
/// </summary>
public sealed record ChangesResponse(IReadOnlyList<MessageView> Messages, bool HasMore);
