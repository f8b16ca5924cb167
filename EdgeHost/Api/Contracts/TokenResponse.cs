namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Tokens of a login session: a short-lived access token and a refresh token that renews once (a repeat soon after gets the same answer).</summary>
public sealed record TokenResponse(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt, DateTimeOffset RefreshExpiresAt, string UserId, string SessionId);
