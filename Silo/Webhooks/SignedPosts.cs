using System.Globalization;
using System.Net.Http.Headers;
using Orleans.Im.Firehose;

namespace Orleans.Im.Silo.Webhooks;

/// <summary>
/// The signed POST that webhooks and the push gateway both get: a JSON body, <c>X-Im-Timestamp</c>, <c>X-Im-Signature</c>
/// over both (<see cref="WebhookSignature"/>) and the delivery attempt, so that a receiver checks either with one routine.
/// </summary>
public static class SignedPosts
{
    /// <summary>A request posting <paramref name="body"/> to <paramref name="url"/>, signed with <paramref name="secret"/> at <paramref name="timestamp"/>.</summary>
    public static HttpRequestMessage Create(string url, string secret, byte[] body, DateTimeOffset timestamp, int attempt)
    {
        var seconds = timestamp.ToUnixTimeSeconds();
        var request = new HttpRequestMessage(HttpMethod.Post, url) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(secret, seconds, body));
        request.Headers.Add(WebhookSignature.TimestampHeader, seconds.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.AttemptHeader, attempt.ToString(CultureInfo.InvariantCulture));
        return request;
    }
}
