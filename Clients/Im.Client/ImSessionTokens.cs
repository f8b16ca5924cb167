namespace Orleans.Im.Client;

/// <summary>
/// What an <see cref="ImSession"/> holds, to keep across restarts (a phone's keychain): the refresh token renews the
/// session, so store it as a secret.
/// </summary>
/// <param name="UserId">The signed-in user.</param>
/// <param name="SessionId">The login session.</param>
/// <param name="AccessToken">The current access token.</param>
/// <param name="RefreshToken">The refresh token that renews it (each renews once).</param>
/// <param name="AccessTokenExpiresAt">When the server stops accepting <paramref name="AccessToken"/>, on the server's clock.</param>
public sealed record ImSessionTokens(string UserId, string SessionId, string AccessToken, string RefreshToken, DateTimeOffset AccessTokenExpiresAt)
{
    /// <summary>The session without its tokens: a record's own text would print them into logs and test failures.</summary>
    public override string ToString() => $"{nameof(ImSessionTokens)} {{ {nameof(UserId)} = {UserId}, {nameof(SessionId)} = {SessionId}, {nameof(AccessTokenExpiresAt)} = {AccessTokenExpiresAt:O} }}";
}
