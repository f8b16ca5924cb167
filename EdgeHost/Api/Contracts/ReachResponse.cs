namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>The outcome of a targeted push, per user in the order given.</summary>
public sealed record ReachResponse(ReachResult[] Results);
