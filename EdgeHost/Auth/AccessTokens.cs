using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Short-lived access tokens signed with HMAC-SHA256, validated locally by every edge host (no grain call per
/// request): <c>base64url(payload JSON) "." base64url(signature)</c>, the payload holding user, session and expiry.
/// </summary>
public sealed class AccessTokens
{
    private const int MinKeyBytes = 32;
    private const int MaxTokenLength = 2048;
    private readonly byte[] _key;
    private readonly TimeSpan _lifetime;
    private readonly TimeProvider _time;

    public AccessTokens(IOptions<AuthOptions> options, TimeProvider time)
    {
        ArgumentNullException.ThrowIfNull(options);
        _key = ParseKey(options.Value.SigningKey);
        _lifetime = options.Value.AccessTokenLifetime;
        _time = time;
    }

    /// <summary>A new random signing key, base64: for development setups and tests.</summary>
    public static string NewSigningKey() => Convert.ToBase64String(RandomNumberGenerator.GetBytes(MinKeyBytes));

    /// <summary>Issues a token for a user's session.</summary>
    public string Issue(string userId, string sessionId) => IssueWithExpiry(userId, sessionId).Token;

    /// <summary>
    /// Issues a token for a user's session, with the moment it stops being accepted: whole seconds, as the token carries
    /// it, so a client told this renews in time (the configured lifetime from now would be up to a second late).
    /// </summary>
    public (string Token, DateTimeOffset ExpiresAt) IssueWithExpiry(string userId, string sessionId)
    {
        var now = _time.GetUtcNow();
        var expires = DateTimeOffset.FromUnixTimeSeconds((now + _lifetime).ToUnixTimeSeconds());
        var payload = JsonSerializer.SerializeToUtf8Bytes(new Payload(userId, sessionId, expires.ToUnixTimeSeconds(), now.ToUnixTimeMilliseconds()));
        var encoded = Base64Url.EncodeToString(payload);
        return (encoded + "." + Base64Url.EncodeToString(Sign(encoded)), expires);
    }

    /// <summary>The claims of a valid, unexpired token; null for anything else (malformed, forged, expired).</summary>
    public AccessTokenClaims? Validate(string? token)
    {
        if (string.IsNullOrEmpty(token) || token.Length > MaxTokenLength)
        {
            return null;
        }

        var dot = token.IndexOf('.', StringComparison.Ordinal);
        if (dot <= 0 || dot == token.Length - 1)
        {
            return null;
        }

        var encoded = token[..dot];
        byte[] signature;
        byte[] payloadBytes;
        try
        {
            signature = Base64Url.DecodeFromChars(token.AsSpan(dot + 1));
            payloadBytes = Base64Url.DecodeFromChars(encoded);
        }
        catch (FormatException)
        {
            return null;
        }

        if (!CryptographicOperations.FixedTimeEquals(signature, Sign(encoded)))
        {
            return null;
        }

        Payload? payload;
        try
        {
            payload = JsonSerializer.Deserialize<Payload>(payloadBytes);
        }
        catch (JsonException)
        {
            return null;
        }

        if (payload is null || !GrainKeys.IsValidUserId(payload.Sub) || string.IsNullOrEmpty(payload.Sid))
        {
            return null;
        }

        var expires = DateTimeOffset.FromUnixTimeSeconds(payload.Exp);
        return expires > _time.GetUtcNow() ? new AccessTokenClaims(payload.Sub, payload.Sid, expires, DateTimeOffset.FromUnixTimeMilliseconds(payload.Iat)) : null;
    }

    private byte[] Sign(string encodedPayload) => HMACSHA256.HashData(_key, Encoding.ASCII.GetBytes(encodedPayload));

    /// <summary>The shared signing key from its configured base64 form; throws when it is missing or too short.</summary>
    internal static byte[] ParseKey(string base64)
    {
        byte[] key;
        try
        {
            key = Convert.FromBase64String(base64 ?? "");
        }
        catch (FormatException)
        {
            key = [];
        }

        return key.Length >= MinKeyBytes
            ? key
            : throw new InvalidOperationException($"Configuration '{AuthOptions.Section}:SigningKey' must be a base64 key of at least {MinKeyBytes} bytes (environment variable 'IM__Auth__SigningKey').");
    }

    private sealed record Payload(string Sub, string Sid, long Exp, long Iat);
}
