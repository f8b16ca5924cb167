using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Refresh tokens: random at login, and each one's successor derived from it with the key every edge host shares, so
/// that a refresh repeated with the same token (its answer lost, two tabs of one session at once) yields the same
/// successor on any edge host. Only their hashes are stored; the grain decides which token is current.
/// </summary>
public sealed class RefreshTokens
{
    private const int TokenBytes = 32;

    // Domain separation: the signing key also signs access tokens, whose payloads never start with this.
    private static readonly byte[] SuccessorLabel = Encoding.ASCII.GetBytes("im.refresh-token.successor\n");

    private readonly byte[] _key;

    public RefreshTokens(IOptions<AuthOptions> options)
    {
        ArgumentNullException.ThrowIfNull(options);
        _key = AccessTokens.ParseKey(options.Value.SigningKey);
    }

    /// <summary>A login's first refresh token.</summary>
    public static string New() => Base64Url.EncodeToString(RandomNumberGenerator.GetBytes(TokenBytes));

    /// <summary>
    /// The token that replaces <paramref name="refreshToken"/> of <paramref name="sessionId"/>: unguessable without the
    /// key, and the same every time it is asked.
    /// </summary>
    public string Successor(string sessionId, string refreshToken)
    {
        ArgumentNullException.ThrowIfNull(sessionId);
        ArgumentNullException.ThrowIfNull(refreshToken);
        // Length-prefixed: no session id and token pair reads as another.
        var input = SuccessorLabel.Concat(Encoding.UTF8.GetBytes($"{sessionId.Length}:{sessionId}{refreshToken}")).ToArray();
        return Base64Url.EncodeToString(HMACSHA256.HashData(_key, input));
    }

    /// <summary>What storage keeps of a token. Refresh tokens are random and long: a fast hash is enough.</summary>
    public static string Hash(string token) => Convert.ToHexString(SHA256.HashData(Encoding.UTF8.GetBytes(token)));
}
