using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Microsoft.Extensions.Options;
using Orleans.Im.Events;
using Orleans.Im.Firehose;
using Orleans.Im.Webhooks;
using StackExchange.Redis;

namespace Orleans.Im.Silo.Webhooks;

/// <summary>
/// Delivers one event to one webhook: signed POSTs, retried with doubling pauses; after the last failed attempt the
/// event goes to the dead-letter stream with the webhook, the attempts and the last error.
/// </summary>
public sealed partial class WebhookSender(IHttpClientFactory http, IOptions<WebhookOptions> options, ImClock clock, ILogger<WebhookSender> logger)
{
    /// <summary>The named HTTP client of deliveries (no redirects followed: a receiver answers where it was registered).</summary>
    public const string HttpClientName = "webhooks";

    /// <summary>How long a pooled connection to a receiver is used: a receiver's DNS changes are followed after this.</summary>
    private static readonly TimeSpan PooledConnectionLifetime = TimeSpan.FromMinutes(5);

    private readonly WebhookOptions _options = options.Value;

    /// <summary>
    /// Returns when the receiver took the event or it was dead-lettered; throws when cancelled or when the dead-letter
    /// write fails (the event stays unacknowledged in its consumer group and comes back).
    /// </summary>
    public async Task DeliverAsync(WebhookRegistration webhook, FirehoseEvent e, IDatabase redis, CancellationToken cancellationToken)
    {
        var body = FirehoseJson.Serialize(e);
        var lastError = "";
        var delay = _options.FirstRetryDelay;
        for (var attempt = 1; attempt <= _options.MaxAttempts; attempt++)
        {
            lastError = await TryPostAsync(webhook, e, body, attempt, cancellationToken);
            if (lastError.Length == 0)
            {
                return;
            }

            Log.AttemptFailed(logger, webhook.Id, e.Id, attempt, lastError);
            if (attempt < _options.MaxAttempts)
            {
                await Task.Delay(delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }

        var fields = FirehoseFields.ToFields(e)
            .Select(f => new NameValueEntry(f.Key, f.Value))
            .Concat([
                new NameValueEntry("webhook", webhook.Id),
                // Any firehose consumer can read the dead letters: not the credentials a URL may carry.
                new NameValueEntry("url", WebhookAddresses.Redact(webhook.Url)),
                new NameValueEntry("attempts", _options.MaxAttempts),
                new NameValueEntry("error", lastError),
                new NameValueEntry("failedAt", clock.UtcNow.ToString("O", CultureInfo.InvariantCulture)),
            ])
            .ToArray();
        await redis.StreamAddAsync(FirehoseStreams.DeadLetter, fields, maxLength: _options.DeadLetterMaxLength, useApproximateMaxLength: true);
        Log.DeadLettered(logger, webhook.Id, e.Id, _options.MaxAttempts, lastError);
    }

    /// <summary>
    /// The handler of the delivery client: no redirects followed, no proxy, and connections only to addresses the options
    /// allow — checked on the addresses the host name resolves to when connecting (not at registration only: a name may
    /// point anywhere, and change), and the connection goes to an address checked. Through a proxy (HTTP_PROXY in the
    /// silo's environment) the check would see the proxy's address, and the proxy would resolve and call any host.
    /// </summary>
    public static SocketsHttpHandler CreateHandler(WebhookOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var handler = new SocketsHttpHandler { AllowAutoRedirect = false, UseProxy = false, PooledConnectionLifetime = PooledConnectionLifetime };
        var (privateNetworks, local) = (options.AllowPrivateNetworks, options.AllowLocalAddresses);
        if (!(privateNetworks && local))
        {
            handler.ConnectCallback = (context, cancellationToken) => ConnectToAllowedAddressAsync(context, privateNetworks, local, cancellationToken);
        }

        return handler;
    }

    private static async ValueTask<Stream> ConnectToAllowedAddressAsync(SocketsHttpConnectionContext context, bool allowPrivateNetworks, bool allowLocalAddresses, CancellationToken cancellationToken)
    {
        var host = context.DnsEndPoint.Host;
        var addresses = IPAddress.TryParse(host, out var literal) ? [literal] : await Dns.GetHostAddressesAsync(host, cancellationToken);
        var allowed = addresses.Where(a => WebhookAddresses.IsAllowed(a, allowPrivateNetworks, allowLocalAddresses)).ToArray();
        if (allowed.Length == 0)
        {
            throw new HttpRequestException($"{host} has no address a webhook may be delivered to; refused (IM:Webhooks:AllowPrivateNetworks, AllowLocalAddresses)");
        }

        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            await socket.ConnectAsync(allowed, context.DnsEndPoint.Port, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    /// <summary>One attempt; empty on success (2xx), else what went wrong.</summary>
    private async Task<string> TryPostAsync(WebhookRegistration webhook, FirehoseEvent e, byte[] body, int attempt, CancellationToken cancellationToken)
    {
        using var request = SignedPosts.Create(webhook.Url, webhook.Secret, body, clock.UtcNow, attempt);
        request.Headers.Add(WebhookSignature.EventIdHeader, e.Id);
        request.Headers.Add(WebhookSignature.EventTypeHeader, e.Type);
        request.Headers.Add(WebhookSignature.WebhookIdHeader, webhook.Id);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(_options.RequestTimeout);
        try
        {
            using var response = await http.CreateClient(HttpClientName).SendAsync(request, HttpCompletionOption.ResponseHeadersRead, timeout.Token);
            return response.IsSuccessStatusCode ? "" : $"HTTP {(int)response.StatusCode}";
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Boundary: the receiver is unreachable or too slow; that is a failed attempt, not our failure.
            return ex is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s" : ex.Message;
        }
    }

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Webhook {WebhookId}: event {EventId} attempt {Attempt} failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, string webhookId, string eventId, int attempt, string error);

        [LoggerMessage(2, LogLevel.Warning, "Webhook {WebhookId}: event {EventId} dead-lettered after {Attempts} attempts: {Error}")]
        public static partial void DeadLettered(ILogger logger, string webhookId, string eventId, int attempts, string error);
    }
}
