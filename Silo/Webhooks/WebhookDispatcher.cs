using Microsoft.Extensions.Options;
using Orleans.Im.Firehose;
using Orleans.Im.Silo.Events;
using Orleans.Im.Webhooks;
using StackExchange.Redis;

namespace Orleans.Im.Silo.Webhooks;

/// <summary>
/// Runs, on every silo, one firehose consumer per registered webhook, all silos in the webhook's group
/// (<c>webhook:{id}</c>) so each event is delivered by one of them. Registrations are read from the registry grain
/// every <see cref="WebhookOptions.RefreshInterval"/>; a removed webhook's consumer stops.
/// </summary>
public sealed partial class WebhookDispatcher(
    IGrainFactory grains,
    ILocalSiloDetails silo,
    WebhookSender sender,
    IOptions<WebhookOptions> options,
    IOptions<FirehoseOptions> firehose,
    IHostApplicationLifetime lifetime,
    ILoggerFactory loggers,
    ILogger<WebhookDispatcher> logger) : BackgroundService
{
    private static readonly TimeSpan RestartDelay = TimeSpan.FromSeconds(1);

    /// <summary>
    /// A new webhook gets events from this long before its registration: the registration is stamped by a silo's clock,
    /// stream entries by Redis's, and a silo ahead of Redis would otherwise miss the events of its first seconds. A few
    /// events from before, delivered at least once as all are, cost less than a hole at the start.
    /// </summary>
    private static readonly TimeSpan ClockSkewAllowance = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Events a silo takes of one webhook at a time. Deliveries are sequential, and what a silo took waits behind a failing
    /// event's retries (minutes) while other silos may be idle: small batches leave the rest to them.
    /// </summary>
    private const int DeliveryBatchSize = 10;
    private readonly Dictionary<string, (CancellationTokenSource Stop, Task Run)> _running = new(StringComparer.Ordinal);

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

        var configuration = ConfigurationOptions.Parse(firehose.Value.Redis!);
        configuration.AbortOnConnectFail = false;
        using var redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        try
        {
            while (!stoppingToken.IsCancellationRequested)
            {
                await RefreshAsync(redis, stoppingToken);
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
            await _running[gone].Run;
            _running.Remove(gone);
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
    }

    /// <summary>One webhook's consumer, started again after Redis errors until stopped.</summary>
    private async Task RunAsync(WebhookRegistration webhook, IConnectionMultiplexer redis, CancellationToken stop)
    {
        var consumer = new FirehoseConsumer(redis, new FirehoseConsumerOptions
        {
            Group = "webhook:" + webhook.Id,
            Consumer = silo.SiloAddress.Endpoint.ToString(),
            Classes = webhook.Classes,
            StartAt = webhook.CreatedAt - ClockSkewAllowance,
            BatchSize = DeliveryBatchSize,
        }, loggers.CreateLogger<FirehoseConsumer>());
        while (!stop.IsCancellationRequested)
        {
            try
            {
                await consumer.RunAsync((e, ct) => sender.DeliverAsync(webhook, e, redis.GetDatabase(), ct), stop);
            }
            catch (Exception ex) when (!stop.IsCancellationRequested)
            {
                // Boundary: Redis is away (or a delivery failed unexpectedly); what was not acknowledged is read again.
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
            catch (OperationCanceledException)
            {
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

        [LoggerMessage(4, LogLevel.Warning, "Webhook {WebhookId}: firehose unavailable: {Reason}")]
        public static partial void ConsumerFailed(ILogger logger, string webhookId, string reason);

        [LoggerMessage(5, LogLevel.Warning, "Webhook {WebhookId}: {Url} is refused by this silo's settings; every delivery will be dead-lettered: {Reason}")]
        public static partial void AddressRefused(ILogger logger, string webhookId, string url, string reason);
    }
}
