using System.Diagnostics.Metrics;
using System.Globalization;
using System.Net.Http.Headers;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Orleans.Im.Firehose;
using Orleans.Im.Push;
using Orleans.Im.Users;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>
/// The silo's side of offline push: user grains enqueue notifications (never waiting), and one pump posts them to the
/// operator's push gateway in signed batches, retried a few times. What the gateway does not take is dropped and
/// counted: a notification is a hint, and the device pulls the message when it connects. Tokens the gateway reports as
/// refused by their push service are forgotten by their users' grains.
/// </summary>
public sealed partial class PushGatewayClient : BackgroundService, IOfflineNotifier
{
    /// <summary>The named HTTP client of the gateway's requests.</summary>
    public const string HttpClientName = "push-gateway";

    /// <summary>The meter of offline push's instruments (exported on <c>/metrics</c>).</summary>
    public const string MeterName = "Orleans.Im.OfflinePush";

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };

    private readonly PushGatewayOptions _options;
    private readonly IHttpClientFactory _http;
    private readonly IGrainFactory _grains;
    private readonly ImClock _clock;
    private readonly ILogger<PushGatewayClient> _logger;
    private readonly Channel<OfflineNotification> _queue;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _rejected;

    public PushGatewayClient(IOptions<PushGatewayOptions> options, IHttpClientFactory http, IGrainFactory grains, ImClock clock,
        IMeterFactory meters, ILogger<PushGatewayClient> logger)
    {
        _options = options.Value;
        _http = http;
        _grains = grains;
        _clock = clock;
        _logger = logger;
        var meter = meters.Create(MeterName);
        _sent = meter.CreateCounter<long>("im_push_notifications_sent_total", "{notification}", "Notifications the push gateway took.");
        _dropped = meter.CreateCounter<long>("im_push_notifications_dropped_total", "{notification}",
            "Notifications dropped: the gateway did not take them after every attempt, or the queue was full.");
        _rejected = meter.CreateCounter<long>("im_push_tokens_rejected_total", "{token}", "Device tokens the gateway said their push service refused.");
        _queue = Channel.CreateBounded<OfflineNotification>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            _ => _dropped.Add(1));
    }

    public bool Enabled => !string.IsNullOrEmpty(_options.GatewayUrl);

    public void Enqueue(OfflineNotification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        _queue.Writer.TryWrite(notification);
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            Log.Off(_logger);
            return;
        }

        var batch = new List<OfflineNotification>(_options.BatchSize);
        while (await _queue.Reader.WaitToReadAsync(stoppingToken))
        {
            if (_options.Linger > TimeSpan.Zero)
            {
                await Task.Delay(_options.Linger, stoppingToken);
            }

            while (batch.Count < _options.BatchSize && _queue.Reader.TryRead(out var notification))
            {
                batch.Add(notification);
            }

            await SendAsync(batch, stoppingToken);
            batch.Clear();
        }
    }

    /// <summary>One batch, retried with doubling pauses; dropped (counted, logged) after the last attempt.</summary>
    private async Task SendAsync(List<OfflineNotification> batch, CancellationToken stoppingToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new GatewayRequest([.. batch.Select(ToGateway)]), Json);
        var delay = _options.FirstRetryDelay;
        var error = "";
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            (error, var rejected) = await TryPostAsync(body, attempt, stoppingToken);
            if (error.Length == 0)
            {
                _sent.Add(batch.Count);
                ForgetRejected(batch, rejected);
                return;
            }

            if (attempt < _options.MaxAttempts)
            {
                await Task.Delay(delay, stoppingToken);
                delay *= 2;
            }
        }

        _dropped.Add(batch.Count);
        Log.Dropped(_logger, batch.Count, _options.MaxAttempts, error);
    }

    private GatewayNotification ToGateway(OfflineNotification n) => new(n.UserId, n.DeviceId, n.Provider, n.Token, n.ConversationId,
        n.Kind, n.Seq, n.SenderId, n.ContentType, _options.IncludePreview ? n.Preview : null, n.Badge, n.Mentioned, n.CollapseKey, n.ServerTime);

    /// <summary>One attempt: empty and the tokens refused on success (2xx), else what went wrong.</summary>
    private async Task<(string Error, IReadOnlyList<GatewayRejection> Rejected)> TryPostAsync(byte[] body, int attempt, CancellationToken stoppingToken)
    {
        var timestamp = _clock.UtcNow.ToUnixTimeSeconds();
        using var request = new HttpRequestMessage(HttpMethod.Post, _options.GatewayUrl) { Content = new ByteArrayContent(body) };
        request.Content.Headers.ContentType = new MediaTypeHeaderValue("application/json") { CharSet = "utf-8" };
        request.Headers.Add(WebhookSignature.SignatureHeader, WebhookSignature.Sign(_options.Secret!, timestamp, body));
        request.Headers.Add(WebhookSignature.TimestampHeader, timestamp.ToString(CultureInfo.InvariantCulture));
        request.Headers.Add(WebhookSignature.AttemptHeader, attempt.ToString(CultureInfo.InvariantCulture));
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var response = await _http.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                return ($"HTTP {(int)response.StatusCode}", []);
            }

            // The answer may name tokens their push service refused for good; an answer without a body names none.
            var answer = response.Content.Headers.ContentLength == 0
                ? null
                : await JsonSerializer.DeserializeAsync<GatewayResponse>(await response.Content.ReadAsStreamAsync(timeout.Token), Json, timeout.Token);
            return ("", answer?.Rejected ?? []);
        }
        catch (Exception ex) when (ex is HttpRequestException or JsonException || (ex is OperationCanceledException && !stoppingToken.IsCancellationRequested))
        {
            // Boundary: the gateway is unreachable, too slow or answered nonsense; a failed attempt, not our failure.
            var error = ex is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s" : ex.Message;
            Log.AttemptFailed(_logger, batch: body.Length, attempt, error);
            return (error, []);
        }
    }

    /// <summary>Tells the users' grains which tokens were refused (only tokens of this batch: the gateway is trusted with
    /// its own requests' tokens, not with naming any user's).</summary>
    private void ForgetRejected(List<OfflineNotification> batch, IReadOnlyList<GatewayRejection> rejected)
    {
        foreach (var rejection in rejected)
        {
            if (batch.Any(n => n.UserId == rejection.UserId && n.DeviceId == rejection.DeviceId && n.Token == rejection.Token))
            {
                _rejected.Add(1);
                _grains.GetGrain<IUserGrain>(rejection.UserId).OnPushTokenRejectedAsync(rejection.DeviceId, rejection.Token).Ignore();
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Offline push is off (IM:Push:GatewayUrl is not set)")]
        public static partial void Off(ILogger logger);

        [LoggerMessage(2, LogLevel.Information, "Push gateway: a request of {Batch} bytes, attempt {Attempt}, failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, int batch, int attempt, string error);

        [LoggerMessage(3, LogLevel.Warning, "Push gateway: {Count} notifications dropped after {Attempts} attempts: {Error}")]
        public static partial void Dropped(ILogger logger, int count, int attempts, string error);
    }
}
