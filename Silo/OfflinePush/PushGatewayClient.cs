using System.Diagnostics.Metrics;
using System.Text.Json;
using System.Text.Json.Serialization;
using System.Threading.Channels;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;
using Orleans.Im.Push;
using Orleans.Im.Silo.Webhooks;
using Orleans.Im.Users;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>
/// The silo's side of offline push: user grains enqueue notifications (never waiting), and one pump posts them to the
/// operator's push gateway in signed batches, retried a few times. What the gateway does not take is dropped and
/// counted: a notification is a hint, and the device pulls the message when it connects. Tokens the gateway reports as
/// refused by their push service are forgotten by their users' grains, and so are tokens whose login session has ended
/// (asked of the account, at most once a minute per session): the user grain hears of ended sessions one-way, and
/// sessions that expire are not announced at all.
/// In a silo the pump runs with the silo's application services (<see cref="Participate"/>): it stops after the silo's
/// grains are deactivated, so what they notify while the silo hands them over is still sent, and while the cluster can
/// still be asked about logins.
/// </summary>
public sealed partial class PushGatewayClient : BackgroundService, IOfflineNotifier, ILifecycleParticipant<ISiloLifecycle>
{
    /// <summary>The named HTTP client of the gateway's requests.</summary>
    public const string HttpClientName = "push-gateway";

    /// <summary>The meter of offline push's instruments (exported on <c>/metrics</c>).</summary>
    public const string MeterName = "Orleans.Im.OfflinePush";

    /// <summary>How long a stopping silo tries to hand what is queued to the gateway.</summary>
    private static readonly TimeSpan DrainOnStop = TimeSpan.FromSeconds(5);

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

    /// <summary>What a notification takes besides its strings (the record, the strings' headers, the queue's slot).</summary>
    private const long NotificationOverheadBytes = 400;

    private long _queuedBytes;
    private readonly Counter<long> _sent;
    private readonly Counter<long> _dropped;
    private readonly Counter<long> _rejected;

    /// <summary>Whether a login session is live, as last asked of its account: a registration whose session has ended
    /// (signed out while the user grain did not hear it, expired) must not be told of messages. Unknown counts as live.</summary>
    private readonly RecentAnswers<(string UserId, string SessionId), bool> _liveSessions;

    /// <summary>Who claimed a token last, as asked of its grain: a registration another device's claim replaced (its user
    /// grain missed being told) must not be told of messages, also once that device released it. Unknown, or never claimed
    /// (registered before tokens had grains), counts as this registration's.</summary>
    private readonly RecentAnswers<string, PushTokenHolder?> _holders;

    /// <summary>The batch whose sending the silo's stop interrupted: the drain sends it first.</summary>
    private List<OfflineNotification>? _interrupted;

    /// <summary>1 once the drain has run (from the pump, or from the stop when the pump never ran).</summary>
    private int _drained;

    public PushGatewayClient(IOptions<PushGatewayOptions> options, IHttpClientFactory http, IGrainFactory grains, ImClock clock,
        IMeterFactory meters, ILogger<PushGatewayClient> logger)
    {
        _options = options.Value;
        _http = http;
        _grains = grains;
        _clock = clock;
        _logger = logger;
        _liveSessions = new(key => grains.GetGrain<IAccountGrain>(key.UserId).IsSessionLiveAsync(key.SessionId), unknown: true, clock);
        _holders = new(key => grains.GetGrain<IPushTokenGrain>(key).GetHolderAsync(), unknown: null, clock);
        var meter = meters.Create(MeterName);
        _sent = meter.CreateCounter<long>("im_push_notifications_sent_total", "{notification}", "Notifications the push gateway took.");
        _dropped = meter.CreateCounter<long>("im_push_notifications_dropped_total", "{notification}",
            "Notifications dropped: the gateway did not take them after every attempt, the queue was full, or they waited past IM:Push:MaxAge.");
        _rejected = meter.CreateCounter<long>("im_push_tokens_rejected_total", "{token}", "Device tokens the gateway said their push service refused.");
        _queue = Channel.CreateBounded<OfflineNotification>(
            new BoundedChannelOptions(_options.QueueCapacity) { FullMode = BoundedChannelFullMode.DropOldest, SingleReader = true },
            dropped =>
            {
                Interlocked.Add(ref _queuedBytes, -SizeOf(dropped));
                _dropped.Add(1);
            });
    }

    /// <summary>The estimated memory the queued notifications take, in bytes (see <see cref="PushGatewayOptions.QueueBytes"/>).</summary>
    public long QueuedBytes => Volatile.Read(ref _queuedBytes);

    public bool Enabled => !string.IsNullOrEmpty(_options.GatewayUrl);

    public void Enqueue(OfflineNotification notification)
    {
        ArgumentNullException.ThrowIfNull(notification);
        var size = SizeOf(notification);
        if (Interlocked.Add(ref _queuedBytes, size) > _options.QueueBytes)
        {
            // Over the memory bound (a long gateway outage, call offers with large signals): this one is dropped.
            Interlocked.Add(ref _queuedBytes, -size);
            _dropped.Add(1);
            return;
        }

        if (!_queue.Writer.TryWrite(notification))
        {
            // Refused only once the silo's stop has drained the queue: grains handed over after it still notify.
            Interlocked.Add(ref _queuedBytes, -size);
            _dropped.Add(1);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!Enabled)
        {
            Log.Off(_logger);
            return;
        }

        try
        {
            while (await _queue.Reader.WaitToReadAsync(stoppingToken))
            {
                // The linger gathers a batch; a full one waiting (a backlog) goes at once, or the linger on top of each
                // round trip would cap the rate and age the backlog past its limit.
                if (_options.Linger > TimeSpan.Zero && _queue.Reader.Count < _options.BatchSize)
                {
                    await Task.Delay(_options.Linger, stoppingToken);
                }

                await SendNextBatchAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            if (Interlocked.Exchange(ref _drained, 1) == 0)
            {
                await DrainAsync();
            }
        }
    }

    /// <summary>
    /// Starts the pump with the silo's application services and stops it with them. Those stop after the silo's grains
    /// have been deactivated (the stage before them), and before the silo leaves the cluster's messaging (stages after).
    /// A host's own stop of its hosted services would come before any of that: the silo stops as one of them, and the
    /// grains it then hands over go on notifying for as long as that takes.
    /// </summary>
    public void Participate(ISiloLifecycle lifecycle) =>
        lifecycle.Subscribe(nameof(PushGatewayClient), ServiceLifecycleStage.ApplicationServices,
            // Not the start's token: the pump runs until the stop, whatever the start was given.
            _ => StartAsync(CancellationToken.None),
            StopAsync);

    /// <summary>
    /// Stops the pump, which drains; and drains here when the pump never ran (a host stopped before the background
    /// service got its first turn cancels it unstarted), so that what was queued is handed over all the same.
    /// </summary>
    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        if (Enabled && Interlocked.Exchange(ref _drained, 1) == 0)
        {
            await DrainAsync();
        }
    }

    /// <summary>A stopping silo hands what is queued to the gateway for a few seconds, one attempt per batch; the rest is
    /// dropped and counted.</summary>
    private async Task DrainAsync()
    {
        using var deadline = new CancellationTokenSource(DrainOnStop);
        try
        {
            var interrupted = Interlocked.Exchange(ref _interrupted, null);
            while (interrupted is not null || _queue.Reader.Count > 0)
            {
                await SendNextBatchAsync(deadline.Token, attempts: 1, interrupted);
                interrupted = null;
            }
        }
        catch (OperationCanceledException)
        {
            // Out of time.
        }

        // Nothing reads the queue after this: what grains enqueue from now on (the silo hands its grains over after this
        // service stopped) is counted as dropped at once rather than left in a queue nobody reads.
        _queue.Writer.TryComplete();
        var left = Interlocked.Exchange(ref _interrupted, null)?.Count ?? 0;
        while (TryTake(out _))
        {
            left++;
        }

        if (left > 0)
        {
            _dropped.Add(left);
            Log.DroppedOnStop(_logger, left);
        }
    }

    /// <summary>
    /// Sends <paramref name="batch"/>, or else a batch taken from the queue. Never throws but for cancellation (the batch
    /// is then kept for the drain): whatever the gateway answers, or the cluster does while sessions are checked, the pump
    /// goes on with the next batch.
    /// </summary>
    private async Task SendNextBatchAsync(CancellationToken cancellationToken, int? attempts = null, List<OfflineNotification>? batch = null)
    {
        if (batch is null)
        {
            batch = new List<OfflineNotification>(_options.BatchSize);
            while (batch.Count < _options.BatchSize && TryTake(out var notification))
            {
                batch.Add(notification);
            }
        }

        var now = _clock.UtcNow;
        var stale = batch.RemoveAll(n => n.AgeAt(now) > (n.Call is null ? _options.MaxAge : _options.CallMaxAge));
        if (stale > 0)
        {
            _dropped.Add(stale);
            Log.Stale(_logger, stale, _options.MaxAge, _options.CallMaxAge);
        }

        try
        {
            var live = await StillTheirsAsync(batch).WaitAsync(cancellationToken);
            if (live.Count > 0)
            {
                await SendAsync(live, attempts ?? _options.MaxAttempts, cancellationToken);
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopping, or out of time to drain: the drain sends it (or counts it as dropped).
            _interrupted = batch;
            throw;
        }
        catch (Exception ex)
        {
            _dropped.Add(batch.Count);
            Log.BatchFailed(_logger, batch.Count, ex);
        }
    }

    /// <summary>
    /// The notifications whose login session is still live and whose token is still this user's device's. Those of ended
    /// sessions are dropped and their users' grains told to forget the tokens; so are those of tokens another user
    /// registered since (asked again before dropping: a token may have come back). What could not be asked counts as
    /// live and held (the gateway decides).
    /// </summary>
    private async Task<List<OfflineNotification>> StillTheirsAsync(List<OfflineNotification> batch)
    {
        var keys = batch.Select(n => PushTokenKeys.For(n.Provider, n.Token)).ToList();
        var sessions = _liveSessions.RefreshAsync(batch.Select(n => (n.UserId, n.SessionId)));
        await _holders.RefreshAsync(keys);
        foreach (var (session, live) in await sessions)
        {
            if (!live)
            {
                Log.SessionEnded(_logger, session.UserId);
                _grains.GetGrain<IUserGrain>(session.UserId).OnSessionsEndedAsync([session.SessionId], all: false).Ignore();
            }
        }

        var elsewhere = Enumerable.Range(0, batch.Count).Where(i => !HeldBy(batch[i], keys[i])).Select(i => keys[i]).Distinct().ToList();
        if (elsewhere.Count > 0)
        {
            elsewhere.ForEach(_holders.Forget);
            await _holders.RefreshAsync(elsewhere);
        }

        var kept = new List<OfflineNotification>(batch.Count);
        HashSet<(string, string)>? told = null;
        for (var i = 0; i < batch.Count; i++)
        {
            var n = batch[i];
            if (!_liveSessions.Answer((n.UserId, n.SessionId)))
            {
                continue;
            }

            if (!HeldBy(n, keys[i]))
            {
                if ((told ??= []).Add((n.UserId, n.DeviceId)))
                {
                    Log.TokenHeldElsewhere(_logger, n.UserId, n.DeviceId);
                    _grains.GetGrain<IUserGrain>(n.UserId).OnPushTokenMovedAsync(n.DeviceId, keys[i]).Ignore();
                }

                continue;
            }

            kept.Add(n);
        }

        return kept;
    }

    private bool HeldBy(OfflineNotification n, string key) =>
        _holders.Answer(key) is not { } holder || (holder.UserId == n.UserId && holder.DeviceId == n.DeviceId);

    /// <summary>One batch, retried with doubling pauses; dropped (counted, logged) after the last attempt.</summary>
    private async Task SendAsync(List<OfflineNotification> batch, int attempts, CancellationToken cancellationToken)
    {
        var body = JsonSerializer.SerializeToUtf8Bytes(new GatewayRequest([.. batch.Select(ToGateway)]), Json);
        var delay = _options.FirstRetryDelay;
        var error = "";
        for (var attempt = 1; attempt <= attempts; attempt++)
        {
            (error, var rejected) = await TryPostAsync(body, attempt, cancellationToken);
            if (error.Length == 0)
            {
                _sent.Add(batch.Count);
                ForgetRejected(batch, rejected);
                return;
            }

            if (attempt < attempts)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, Math.Max(_options.MaxRetryDelay.Ticks, _options.FirstRetryDelay.Ticks)));
            }
        }

        _dropped.Add(batch.Count);
        Log.Dropped(_logger, batch.Count, attempts, error);
    }

    /// <summary>As the gateway gets it: without the text when previews are off.</summary>
    private OfflineNotification ToGateway(OfflineNotification n) => _options.IncludePreview ? n : n with { Preview = null };

    /// <summary>One attempt: empty and the tokens refused on success (2xx), else what went wrong.</summary>
    private async Task<(string Error, IReadOnlyList<GatewayRejection?> Rejected)> TryPostAsync(byte[] body, int attempt, CancellationToken cancellationToken)
    {
        using var request = SignedPosts.Create(_options.GatewayUrl!, _options.Secret!, body, _clock.UtcNow, attempt);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        string answer;
        try
        {
            using var response = await _http.CreateClient(HttpClientName).SendAsync(request, timeout.Token);
            if (!response.IsSuccessStatusCode)
            {
                var failed = $"HTTP {(int)response.StatusCode}";
                Log.AttemptFailed(_logger, attempt, failed);
                return (failed, []);
            }

            answer = await response.Content.ReadAsStringAsync(timeout.Token);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Boundary: the gateway is unreachable or too slow; a failed attempt, not our failure.
            var error = ex is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s" : ex.Message;
            Log.AttemptFailed(_logger, attempt, error);
            return (error, []);
        }

        // Taken (2xx). The answer may name tokens their push service refused; one that does not parse names none (sent
        // again, the batch would reach the phones twice).
        try
        {
            return ("", answer.Length == 0 ? [] : JsonSerializer.Deserialize<GatewayResponse>(answer, Json)?.Rejected ?? []);
        }
        catch (JsonException ex)
        {
            Log.AnswerUnreadable(_logger, ex.Message);
            return ("", []);
        }
    }

    /// <summary>Tells the users' grains which tokens were refused (only tokens of this batch: the gateway is trusted with
    /// its own requests' tokens, not with naming any user's).</summary>
    private void ForgetRejected(List<OfflineNotification> batch, IReadOnlyList<GatewayRejection?> rejected)
    {
        foreach (var rejection in rejected)
        {
            if (rejection is { UserId: not null, DeviceId: not null, Token: not null } && batch.Any(n => n.UserId == rejection.UserId && n.DeviceId == rejection.DeviceId && n.Token == rejection.Token))
            {
                _rejected.Add(1);
                _grains.GetGrain<IUserGrain>(rejection.UserId).OnPushTokenRejectedAsync(rejection.DeviceId, rejection.Token).Ignore();
            }
        }
    }

    /// <summary>Takes the next queued notification, if any, and counts its memory as freed.</summary>
    private bool TryTake([System.Diagnostics.CodeAnalysis.MaybeNullWhen(false)] out OfflineNotification notification)
    {
        if (!_queue.Reader.TryRead(out notification))
        {
            return false;
        }

        Interlocked.Add(ref _queuedBytes, -SizeOf(notification));
        return true;
    }

    /// <summary>A notification's memory, roughly: its strings (two bytes a character) and the record around them.</summary>
    private static long SizeOf(OfflineNotification n) =>
        NotificationOverheadBytes + 2L * (n.UserId.Length + n.DeviceId.Length + n.Provider.Length + n.Token.Length + n.SessionId.Length
            + n.ConversationId.Length + n.SenderId.Length + (n.Preview?.Length ?? 0) + (n.CollapseKey?.Length ?? 0)
            + (n.Call?.Length ?? 0) + (n.CallClientMsgId?.Length ?? 0));
}
