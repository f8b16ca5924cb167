using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Orleans.Im.Events;
using Orleans.Im.Firehose;
using Orleans.Im.Silo.Events;
using Orleans.Im.Webhooks;
using StackExchange.Redis;

namespace Orleans.Im.Silo.Webhooks;

/// <summary>
/// Runs, on every silo, one firehose consumer per registered webhook, all silos in the webhook's group
/// (<c>webhook:{id}</c>) so each event is delivered by one of them. Registrations are read from the registry grain
/// every <see cref="WebhookOptions.RefreshInterval"/>; a removed webhook's consumer stops. Each silo runs
/// <see cref="WebhookOptions.Concurrency"/> consumers per webhook, and measures, at each refresh, how far each webhook's
/// group is behind its streams (<c>im_webhook_lag</c>).
/// </summary>
public sealed partial class WebhookDispatcher(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    WebhookSender sender,
    IOptions<WebhookOptions> options,
    IOptions<FirehoseOptions> firehose,
    IHostApplicationLifetime lifetime,
    IMeterFactory meters,
    ILoggerFactory loggers,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    /// <summary>The meter of webhook delivery's instruments (exported on <c>/metrics</c>).</summary>
    public const string MeterName = "Orleans.Im.Webhooks";

    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A new webhook gets events from this long before its registration: the registration is stamped by a silo's clock,
    /// stream entries by Redis's, and a silo ahead of Redis would otherwise miss the events of its first seconds. A few
    /// events from before, delivered at least once as all are, cost less than a hole at the start.
    /// </summary>
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Events one consumer takes at a time. Its deliveries are sequential, and what it took waits behind a failing or hung
    /// event's retries (minutes) while other consumers, here or on other silos, may be idle: one at a time, a delivery that
    /// hangs holds up no other event. The round trip to Redis per event is small beside the HTTP request's.
    /// </summary>
    private const int DeliveryBatchSize = 1;

    /// <summary>
    /// The ids each consumer remembers at least, to drop duplicates (besides every id of the last 30 s). A consumer's own
    /// default (20,000) times up to 50 webhooks times their concurrency would hold millions of ids on every silo for a
    /// filter that mostly sees a lane's share of the events; a publisher's retry comes within seconds, which the time
    /// rule covers.
    /// </summary>
    private const int DuplicateIdsPerConsumer = 2_000;

    private readonly Dictionary<string, (CancellationTokenSource Stop, Task Run)> _running = new(StringComparer.Ordinal);

    /// <summary>Each running webhook's events not yet delivered, as last measured (read by the gauge at each scrape).</summary>
    private readonly ConcurrentDictionary<string, long> _lag = new(StringComparer.Ordinal);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!options.Value.Enabled || !firehose.Value.Enabled)
        {
            return;
        }

        // Asked while the silo is still joining, the registry's placement finds no silo that has the grain, and Orleans
        // logs retries with stack traces at every start: the first refresh waits until the host, the silo in it, started.
        using (var started = CancellationTokenSource.CreateLinkedTokenSource(lifetime.ApplicationStarted, stoppingToken))
        {
            await Task.Delay(Timeout.InfiniteTimeSpan, started.Token).ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
        }

        if (stoppingToken.IsCancellationRequested)
        {
            return;
        }

        meters.Create(MeterName).CreateObservableGauge("im_webhook_lag",
            () => _lag.Select(l => new Measurement<long>(l.Value, new KeyValuePair<string, object?>("webhook", l.Key))),
            "{event}", "Events of a webhook's classes not yet delivered (waiting, or taken and not yet acknowledged); the same on every silo.");
        var configuration = ConfigurationOptions.Parse(firehose.Value.Redis!);
        configuration.AbortOnConnectFail = false;
        using var redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                try
                {
                    await RefreshAsync(redis, stoppingToken);
                }
                catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
                {
                    // Boundary: escaping, it would stop the host, the silo with it (the default for a background service
                    // that fails); the consumers already running go on, and the next refresh tries again.
                    Log.RefreshFailed(logger, ex);
                }

                await Task.Delay(options.Value.RefreshInterval, stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping: each consumer finishes (or gives back) the event in hand.
        }
        finally
        {
            foreach (var (stop, _) in _running.Values)
            {
                await stop.CancelAsync();
            }

            await Task.WhenAll(_running.Values.Select(r => r.Run));
        }
    }

    private async Task RefreshAsync(IConnectionMultiplexer redis, CancellationToken stoppingToken)
    {
        WebhookRegistration[] webhooks;
        try
        {
            webhooks = await grains.For<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey).ListAsync();
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Boundary: the silo may be starting, the registry moving, or its activation failing on storage (a database
            // error, not an Orleans one); the next refresh asks again. Escaping, it would stop the host.
            Log.RegistryUnavailable(logger, ex.Message);
            return;
        }

        foreach (var gone in _running.Keys.Except(webhooks.Select(w => w.Id)).ToList())
        {
            await _running[gone].Stop.CancelAsync();
            // Removed whatever its run ended with: one that faulted, kept, would fail every refresh from here on.
            await _running[gone].Run.ConfigureAwait(ConfigureAwaitOptions.SuppressThrowing);
            _running[gone].Stop.Dispose();
            _running.Remove(gone);
            _lag.TryRemove(gone, out _);
            Log.Stopped(logger, gone);
        }

        foreach (var webhook in webhooks.Where(w => !_running.ContainsKey(w.Id)))
        {
            var stop = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            _running[webhook.Id] = (stop, Task.Run(() => RunAsync(webhook, redis, stop.Token), CancellationToken.None));
            // Not the URL as registered: its user info, query or fragment may carry credentials.
            Log.Started(logger, webhook.Id, WebhookAddresses.Redact(webhook.Url));
            if (Uri.TryCreate(webhook.Url, UriKind.Absolute, out var url)
                && WebhookAddresses.RefusedHost(url, options.Value.AllowPrivateNetworks, options.Value.AllowLocalAddresses) is { } refused)
            {
                // Registered before the address rules (or under other settings): every delivery will fail and be
                // dead-lettered; said once, at start, rather than only in each dead letter.
                Log.AddressRefused(logger, webhook.Id, WebhookAddresses.Redact(webhook.Url), refused);
            }
        }

        foreach (var webhook in webhooks)
        {
            if (!await MeasureLagAsync(redis, webhook))
            {
                // Redis away or stalled: each measurement would wait out its timeout in turn (minutes, for fifty
                // webhooks), holding up the next refresh's starts and stops. Measured again at the next refresh.
                break;
            }
        }
    }

    /// <summary>
    /// How many events of the webhook's classes its group has not had acknowledged: those not yet read, and those read
    /// and not yet acknowledged. A lag Redis cannot tell (entries deleted within the range) counts as none. False when
    /// Redis did not answer (away, or stalled past the command timeout), which the other webhooks would meet too.
    /// </summary>
    private async Task<bool> MeasureLagAsync(IConnectionMultiplexer redis, WebhookRegistration webhook)
    {
        var group = GroupOf(webhook);
        var database = redis.GetDatabase();
        long lag = 0;
        try
        {
            foreach (var eventClass in webhook.Classes)
            {
                var info = (await database.StreamGroupInfoAsync(FirehoseStreams.For(eventClass))).FirstOrDefault(g => g.Name == group);
                lag += (info.Lag ?? 0) + info.PendingMessageCount;
            }
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException)
        {
            // No stream or group yet (nothing published of the class), or Redis away or stalled (a command timeout is a
            // TimeoutException, not a RedisException): measured at the next refresh. An error Redis answered (no group)
            // is this webhook's alone.
            Log.LagUnmeasured(logger, webhook.Id, ex.Message);
            return ex is RedisServerException;
        }

        _lag[webhook.Id] = lag;
        return true;
    }

    private static string GroupOf(WebhookRegistration webhook) => "webhook:" + webhook.Id;

    /// <summary>The webhook's consumers on this silo (<see cref="WebhookOptions.Concurrency"/>), until stopped.</summary>
    private Task RunAsync(WebhookRegistration webhook, IConnectionMultiplexer redis, CancellationToken stop) =>
        Task.WhenAll(Enumerable.Range(0, options.Value.Concurrency).Select(lane => Task.Run(() => RunConsumerAsync(webhook, redis, lane, stop), CancellationToken.None)));

    /// <summary>
    /// One consumer of the webhook's group, until stopped. The consumer rides out Redis being away itself (within
    /// <see cref="RestartDelay"/> of its return); this starts it again after anything else: a delivery that failed
    /// unexpectedly, a dead-letter write refused, a Redis error that is no outage.
    /// </summary>
    private async Task RunConsumerAsync(WebhookRegistration webhook, IConnectionMultiplexer redis, int lane, CancellationToken stop)
    {
        var consumer = new FirehoseConsumer(redis, new FirehoseConsumerOptions
        {
            Group = GroupOf(webhook),
            // The first keeps the silo's name of before (what it took and did not acknowledge comes back to it); the rest's
            // leftovers, after the concurrency is lowered, are claimed by the others once idle.
            Consumer = lane == 0 ? silo.SiloAddress.Endpoint.ToString() : $"{silo.SiloAddress.Endpoint}/{lane}",
            Classes = webhook.Classes,
            StartAt = webhook.CreatedAt - ClockSkewAllowance,
            BatchSize = DeliveryBatchSize,
            DuplicateWindow = DuplicateIdsPerConsumer,
            RetryDelay = RestartDelay,
            MaxRetryDelay = RestartDelay,
        }, loggers.CreateLogger<FirehoseConsumer>());
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await consumer.RunAsync((e, ct) => sender.DeliverAsync(webhook, e, redis.GetDatabase(), ct), stop);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                // Boundary: a delivery failed unexpectedly, or Redis failed otherwise than by being away; what was not
                // acknowledged is read again.
                Log.ConsumerFailed(logger, webhook.Id, ex.Message);
                try
                {
                    await Task.Delay(RestartDelay, stop);
                }
                catch (OperationCanceledException)
                {
                    return;
                }
            }
            catch (Exception) when (stop.IsCancellationRequested)
            {
                // Stopped (the webhook removed, the silo stopping) while a call that takes no token failed: a dead letter's
                // write timing out in a Redis stall. Escaping, it faulted the webhook's run, which every later refresh
                // awaited again and failed on: that silo then started and stopped no webhook until it restarted.
                return;
            }
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Webhook {WebhookId}: delivering to {Url}")]
        public static partial void Started(ILogger logger, string webhookId, string url);

        [LoggerMessage(2, LogLevel.Information, "Webhook {WebhookId}: removed; delivery stopped")]
        public static partial void Stopped(ILogger logger, string webhookId);

        [LoggerMessage(3, LogLevel.Debug, "Webhooks: registry unavailable: {Reason}")]
        public static partial void RegistryUnavailable(ILogger logger, string reason);

        [LoggerMessage(4, LogLevel.Warning, "Webhook {WebhookId}: delivery stopped ({Reason}); starting again")]
        public static partial void ConsumerFailed(ILogger logger, string webhookId, string reason);

        [LoggerMessage(6, LogLevel.Debug, "Webhook {WebhookId}: lag not measured: {Reason}")]
        public static partial void LagUnmeasured(ILogger logger, string webhookId, string reason);

        [LoggerMessage(5, LogLevel.Warning, "Webhook {WebhookId}: {Url} is refused by this silo's settings; every delivery will be dead-lettered: {Reason}")]
        public static partial void AddressRefused(ILogger logger, string webhookId, string url, string reason);

        [LoggerMessage(7, LogLevel.Error, "Webhooks: refreshing the registrations failed; trying again at the next refresh")]
        public static partial void RefreshFailed(ILogger logger, Exception exception);
    }
}
