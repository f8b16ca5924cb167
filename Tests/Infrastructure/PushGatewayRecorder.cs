using System.Collections.Concurrent;
using System.Net;
using System.Text;
using System.Text.Json;
using Orleans.Im.Firehose;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// The operator's push gateway, played by a test on a loopback port: checks each request's signature, records the
/// notifications, and answers as told (refuse the next requests, report tokens as refused by their push service).
/// </summary>
/// <param name="time">The silo's clock, which signs the requests (tests move the cluster fixture's forward).</param>
public sealed class PushGatewayRecorder(TimeProvider time) : IAsyncDisposable
{
    public const string Secret = "push-gateway-test-secret";

    private static readonly TimeSpan SignatureTolerance = TimeSpan.FromMinutes(5);
    private readonly HttpListener _listener = new();
    private int _failNext;
    private int _badSignatures;
    private int _requests;

    private Task _loop = Task.CompletedTask;

    /// <summary>Where the gateway listens; starts listening.</summary>
    public string Url { get; private set; } = "";

    public PushGatewayRecorder Start()
    {
        Url = $"http://127.0.0.1:{FreePorts.Next()}/push/";
        _listener.Prefixes.Add(Url);
        _listener.Start();
        _loop = Task.Run(LoopAsync);
        return this;
    }

    /// <summary>Every notification taken, in the order they came.</summary>
    public ConcurrentQueue<JsonElement> Notifications { get; } = new();

    /// <summary>The delivery attempt (<c>X-Im-Delivery-Attempt</c>) of the request that carried each notification, by
    /// <c>{id}|{deviceId}</c>.</summary>
    public ConcurrentDictionary<string, int> AttemptOf { get; } = new(StringComparer.Ordinal);

    /// <summary>Tokens this gateway says their push service refused (reported in the answer of a request carrying them).</summary>
    public ConcurrentDictionary<string, bool> RefusedTokens { get; } = new(StringComparer.Ordinal);

    /// <summary>When set, requests are taken (200) with this body instead of a JSON answer.</summary>
    public string? AnswerText { get; set; }

    /// <summary>Requests with a wrong or missing signature (answered 401, not recorded).</summary>
    public int BadSignatures => Volatile.Read(ref _badSignatures);

    /// <summary>Requests received, refused ones included.</summary>
    public int Requests => Volatile.Read(ref _requests);

    /// <summary>The next <paramref name="count"/> requests are answered 503.</summary>
    public void FailNext(int count) => Volatile.Write(ref _failNext, count);

    /// <summary>The notifications taken for one user, in order.</summary>
    public IReadOnlyList<JsonElement> For(string userId) =>
        [.. Notifications.Where(n => n.GetProperty("userId").GetString() == userId)];

    public async ValueTask DisposeAsync()
    {
        _listener.Stop();
        _listener.Close();
        await _loop.WaitAsync(TimeSpan.FromSeconds(5)).ContinueWith(_ => { }, TaskScheduler.Default);
    }

    private async Task LoopAsync()
    {
        while (_listener.IsListening)
        {
            HttpListenerContext context;
            try
            {
                context = await _listener.GetContextAsync();
            }
            catch (Exception ex) when (ex is HttpListenerException or ObjectDisposedException or InvalidOperationException)
            {
                return;
            }

            try
            {
                await AnswerAsync(context);
            }
            catch (Exception ex) when (ex is HttpListenerException or IOException)
            {
                // The silo gave up on this request.
            }
        }
    }

    private async Task AnswerAsync(HttpListenerContext context)
    {
        Interlocked.Increment(ref _requests);
        using var body = new MemoryStream();
        await context.Request.InputStream.CopyToAsync(body);
        var bytes = body.ToArray();
        var response = context.Response;
        if (!WebhookSignature.Verify(Secret, context.Request.Headers[WebhookSignature.TimestampHeader], bytes,
                context.Request.Headers[WebhookSignature.SignatureHeader], time.GetUtcNow(), SignatureTolerance))
        {
            Interlocked.Increment(ref _badSignatures);
            response.StatusCode = 401;
            response.Close();
            return;
        }

        if (Interlocked.Decrement(ref _failNext) >= 0)
        {
            response.StatusCode = 503;
            response.Close();
            return;
        }

        var refused = new List<object>();
        foreach (var notification in JsonDocument.Parse(bytes).RootElement.GetProperty("notifications").EnumerateArray())
        {
            var recorded = notification.Clone();
            AttemptOf[$"{recorded.GetProperty("id").GetString()}|{recorded.GetProperty("deviceId").GetString()}"] =
                int.Parse(context.Request.Headers[WebhookSignature.AttemptHeader] ?? "0", System.Globalization.CultureInfo.InvariantCulture);
            Notifications.Enqueue(recorded);
            var token = recorded.GetProperty("token").GetString()!;
            if (RefusedTokens.ContainsKey(token))
            {
                refused.Add(new { userId = recorded.GetProperty("userId").GetString(), deviceId = recorded.GetProperty("deviceId").GetString(), token });
            }
        }

        var answer = Encoding.UTF8.GetBytes(AnswerText ?? JsonSerializer.Serialize(new { rejected = refused }));
        response.ContentType = "application/json";
        response.ContentLength64 = answer.Length;
        await response.OutputStream.WriteAsync(answer);
        response.Close();
    }
}
