namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Whether a token belongs to a live session, and whose.</summary>
public sealed record VerifyResponse(bool Valid, string? UserId = null, string? SessionId = null, DateTimeOffset? ExpiresAt = null);
