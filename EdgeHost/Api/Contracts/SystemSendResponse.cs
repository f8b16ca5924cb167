namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Per-target results of a system send.</summary>
public sealed record SystemSendResponse(IReadOnlyList<SystemSendResult> Results);
