namespace Orleans.Im.Accounts;

/// <summary>One login of one device: access tokens name it, a refresh token renews it, logout or disable ends it.</summary>
/// <param name="SessionId">Random, unguessable.</param>
/// <param name="DeviceId">The device that logged in.</param>
/// <param name="Platform">Its platform.</param>
/// <param name="RefreshTokenHash">SHA-256 of the current refresh token (the token itself is never stored).</param>
/// <param name="ExpiresAt">When the refresh token stops working.</param>
/// <param name="CreatedAt">When the login happened.</param>
/// <param name="PreviousRefreshTokenHash">
/// SHA-256 of the refresh token the last refresh swapped out, null before the first: that refresh may be repeated for a
/// short while (see <see cref="IAccountGrain.RefreshSessionAsync(string, string, string, DateTimeOffset, TimeSpan)"/>).
/// </param>
/// <param name="RefreshedAt">When the last refresh happened.</param>
/// <param name="ParentSessionId">
/// For a session issued over a long connection (its token dies with the connection): the login session that connection
/// signed in with. Null for a login.
/// </param>
/// <param name="SpentRefreshTokenHashes">
/// SHA-256 of the refresh tokens swapped out before <paramref name="PreviousRefreshTokenHash"/>, newest first, a few: one
/// spent again is a stolen token's twin (a thief who refreshed twice leaves the victim's token older than the previous).
/// </param>
[GenerateSerializer, Immutable, Alias("im.LoginSession")]
public sealed record LoginSession(
    [property: Id(0)] string SessionId,
    [property: Id(1)] string DeviceId,
    [property: Id(2)] string Platform,
    [property: Id(3)] string RefreshTokenHash,
    [property: Id(4)] DateTimeOffset ExpiresAt,
    [property: Id(5)] DateTimeOffset CreatedAt,
    [property: Id(6)] string? PreviousRefreshTokenHash = null,
    [property: Id(7)] DateTimeOffset RefreshedAt = default,
    [property: Id(8)] string? ParentSessionId = null,
    [property: Id(9)] string[]? SpentRefreshTokenHashes = null)
{
    /// <summary>Refresh tokens kept as spent besides the previous one (bounded: the session is stored whole at each refresh).</summary>
    public const int MaxSpentRefreshTokens = 8;

    /// <summary>Whether <paramref name="refreshTokenHash"/> is one of the refresh tokens swapped out before the previous one.</summary>
    public bool SpentEarlier(string refreshTokenHash) =>
        SpentRefreshTokenHashes?.Contains(refreshTokenHash, StringComparer.Ordinal) == true;
}
