namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Read up to a seq.</summary>
public sealed record ReadBody(long Seq);
