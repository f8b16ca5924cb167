namespace Orleans.Im.EdgeHost.Auth;

/// <summary>What a valid access token says.</summary>
/// <param name="UserId">Whose token it is.</param>
/// <param name="SessionId">The login session it belongs to (one per login of a device).</param>
/// <param name="ExpiresAt">When it stops being valid.</param>
public sealed record AccessTokenClaims(string UserId, string SessionId, DateTimeOffset ExpiresAt);
