using System.Globalization;
using System.Security.Cryptography;
using System.Text;

namespace Orleans.Im.Firehose;

/// <summary>
/// How webhook deliveries are signed and verified: <c>X-Im-Signature: sha256=</c> hex of HMAC-SHA256 with the webhook's
/// secret over <c>{X-Im-Timestamp}.{body}</c>. The timestamp is in the signed text so an old delivery cannot be replayed
/// later with a fresh timestamp; receivers reject timestamps outside a tolerance.
/// </summary>
public static class WebhookSignature
{
    public const string SignatureHeader = "X-Im-Signature";
    public const string TimestampHeader = "X-Im-Timestamp";
    public const string EventIdHeader = "X-Im-Event-Id";
    public const string EventTypeHeader = "X-Im-Event-Type";
    public const string WebhookIdHeader = "X-Im-Webhook-Id";
    public const string AttemptHeader = "X-Im-Delivery-Attempt";

    private const string Scheme = "sha256=";

    /// <summary>The signature header's value for a body sent at <paramref name="unixSeconds"/>.</summary>
    public static string Sign(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        ArgumentNullException.ThrowIfNull(secret);
        return Scheme + Convert.ToHexStringLower(Compute(secret, unixSeconds, body));
    }

    /// <summary>
    /// True when <paramref name="signature"/> is the body's signature with this secret and the timestamp is within
    /// <paramref name="tolerance"/> of <paramref name="now"/>. Compares in fixed time.
    /// </summary>
    public static bool Verify(string secret, string? timestamp, ReadOnlySpan<byte> body, string? signature, DateTimeOffset now, TimeSpan tolerance)
    {
        ArgumentNullException.ThrowIfNull(secret);
        if (!long.TryParse(timestamp, NumberStyles.None, CultureInfo.InvariantCulture, out var seconds)
            || Math.Abs(now.ToUnixTimeSeconds() - seconds) > tolerance.TotalSeconds
            || signature is null || !signature.StartsWith(Scheme, StringComparison.Ordinal))
        {
            return false;
        }

        byte[] given;
        try
        {
            given = Convert.FromHexString(signature.AsSpan(Scheme.Length));
        }
        catch (FormatException)
        {
            return false;
        }

        return CryptographicOperations.FixedTimeEquals(given, Compute(secret, seconds, body));
    }

    private static byte[] Compute(string secret, long unixSeconds, ReadOnlySpan<byte> body)
    {
        var prefix = Encoding.UTF8.GetBytes(unixSeconds.ToString(CultureInfo.InvariantCulture) + ".");
        var signed = new byte[prefix.Length + body.Length];
        prefix.CopyTo(signed, 0);
        body.CopyTo(signed.AsSpan(prefix.Length));
        return HMACSHA256.HashData(Encoding.UTF8.GetBytes(secret), signed);
    }
}
