namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Tokens of a login session: a short-lived access token and a refresh token that renews once (a repeat soon after gets the same answer).</summary>
/// <param name="AccessToken">For <c>Authorization: Bearer</c>, the hub and the TCP login.</param>
/// <param name="RefreshToken">Renews the session at <c>/api/auth/refresh</c>; keep it secret.</param>
/// <param name="ExpiresAt">When the access token stops being accepted.</param>
/// <param name="RefreshExpiresAt">When the session ends unless renewed before.</param>
/// <param name="UserId">The signed-in user.</param>
/// <param name="SessionId">The login session (a device in the user's list).</param>
/// <param name="ExpiresIn">Whole seconds from this answer until <paramref name="ExpiresAt"/>: a client times renewal by it on its own clock.</param>
public sealed record TokenResponse(string AccessToken, string RefreshToken, DateTimeOffset ExpiresAt, DateTimeOffset RefreshExpiresAt, string UserId, string SessionId, long ExpiresIn);
