namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Where a sent message went; <c>Duplicate</c> when it was a retry of a stored one.</summary>
public sealed record SendResponse(long Seq, DateTimeOffset ServerTime, bool Duplicate);
