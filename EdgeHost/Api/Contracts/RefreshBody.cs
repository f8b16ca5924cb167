namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Renews a session's tokens.</summary>
public sealed record RefreshBody(string UserId, string SessionId, string RefreshToken);
