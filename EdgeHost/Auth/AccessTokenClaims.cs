namespace Orleans.Im.EdgeHost.Auth;

/// <summary>What a valid access token says.</summary>
/// <param name="UserId">Whose token it is.</param>
/// <param name="SessionId">The login session it belongs to (one per login of a device).</param>
/// <param name="ExpiresAt">When it stops being valid.</param>
/// <param name="IssuedAt">When it was issued, to the millisecond (revocations of all a user's sessions apply to tokens issued before them).</param>
public sealed record AccessTokenClaims(string UserId, string SessionId, DateTimeOffset ExpiresAt, DateTimeOffset IssuedAt);
