using System.Buffers.Text;
using System.Security.Cryptography;
using System.Text;

namespace Orleans.Im.Push;

/// <summary>The key of a push token's <see cref="IPushTokenGrain"/>.</summary>
public static class PushTokenKeys
{
    /// <summary>
    /// <c>{provider}:{SHA-256 of the token, base64url}</c>: tokens run to a kilobyte, and a key of fixed length keeps the
    /// token itself out of another table and out of logs that name grains.
    /// </summary>
    public static string For(string provider, string token)
    {
        ArgumentException.ThrowIfNullOrEmpty(provider);
        ArgumentException.ThrowIfNullOrEmpty(token);
        return $"{provider}:{Base64Url.EncodeToString(SHA256.HashData(Encoding.UTF8.GetBytes(token)))}";
    }
}
