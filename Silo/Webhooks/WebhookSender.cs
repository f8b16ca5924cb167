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
        byte[] body;
        try
        {
            body = FirehoseJson.Serialize(e);
        }
        catch (Exception ex) when (ex is System.Text.Json.JsonException or ArgumentException or InvalidOperationException)
        {
            // A stream entry that is not one of ours (its data not JSON: written by hand, or by a broken producer). Thrown
            // out of here it would come back first at every read, and hold this silo's share of the webhook for good.
            await DeadLetterAsync(webhook, e, redis, 0, $"the event cannot be written as JSON: {ex.Message}");
            return;
        }

        var lastError = "";
        var attempts = 0;
        var delay = _options.FirstRetryDelay;
        while (attempts < _options.MaxAttempts)
        {
            attempts++;
            var outcome = await TryPostAsync(webhook, e, body, attempts, cancellationToken);
            if (outcome.Error.Length == 0)
            {
                return;
            }

            lastError = outcome.Error;
            Log.AttemptFailed(logger, webhook.Id, e.Id, attempts, lastError);
            if (outcome.Final)
            {
                // The receiver refused this event (400, 404, 413, …): the same request is refused again, and the retries'
                // minutes would hold every later event of this webhook here behind it.
                break;
            }

            if (attempts < _options.MaxAttempts)
            {
                // A receiver that says when to come back (429, 503) is believed, within the longest pause.
                await Task.Delay(outcome.RetryAfter is { } after && after > delay ? Min(after, _options.MaxRetryDelay) : delay, cancellationToken);
                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }

        await DeadLetterAsync(webhook, e, redis, attempts, lastError);
    }

    private static TimeSpan Min(TimeSpan a, TimeSpan b) => a < b ? a : b;

    private async Task DeadLetterAsync(WebhookRegistration webhook, FirehoseEvent e, IDatabase redis, int attempts, string lastError)
    {
        var fields = FirehoseFields.ToFields(e)
            .Select(f => new NameValueEntry(f.Key, f.Value))
            .Concat([
                new NameValueEntry("webhook", webhook.Id),
                // Any firehose consumer can read the dead letters: not the credentials a URL may carry.
                new NameValueEntry("url", WebhookAddresses.Redact(webhook.Url)),
                new NameValueEntry("attempts", attempts),
                new NameValueEntry("error", lastError),
                new NameValueEntry("failedAt", clock.UtcNow.ToString("O", CultureInfo.InvariantCulture)),
            ])
            .ToArray();
        await redis.StreamAddAsync(FirehoseStreams.DeadLetter, fields, maxLength: _options.DeadLetterMaxLength, useApproximateMaxLength: true);
        Log.DeadLettered(logger, webhook.Id, e.Id, attempts, lastError);
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

    /// <summary>One attempt's outcome: no error on success (2xx); else what went wrong, whether trying again can help, and when the receiver asked to be tried again.</summary>
    private readonly record struct PostOutcome(string Error, bool Final = false, TimeSpan? RetryAfter = null);

    /// <summary>One attempt.</summary>
    private async Task<PostOutcome> TryPostAsync(WebhookRegistration webhook, FirehoseEvent e, byte[] body, int attempt, CancellationToken cancellationToken)
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
            if (response.IsSuccessStatusCode)
            {
                return new PostOutcome("");
            }

            var status = (int)response.StatusCode;
            if (status is 301 or 308)
            {
                // Moved for good: every attempt meets the same answer (redirects are not followed), so the event goes to
                // the dead letters at once, with where the receiver says it is now; the webhook is to be registered again.
                var location = response.Headers.Location is { } moved
                    ? WebhookAddresses.Redact((moved.IsAbsoluteUri ? moved : new Uri(request.RequestUri!, moved)).ToString())
                    : "(no Location)";
                return new PostOutcome($"HTTP {status}: moved permanently to {location}; register the webhook with that address", Final: true);
            }

            var retryAfter = response.Headers.RetryAfter is { } header
                ? header.Delta ?? (header.Date is { } at ? at - clock.UtcNow : null)
                : null;
            return new PostOutcome($"HTTP {status}", IsFinal(status), retryAfter);
        }
        catch (Exception ex) when (ex is HttpRequestException || (ex is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            // Boundary: the receiver is unreachable or too slow; that is a failed attempt, not our failure.
            return new PostOutcome(ex is OperationCanceledException ? $"no answer within {_options.RequestTimeout.TotalSeconds:0.#} s" : ex.Message);
        }
    }

    /// <summary>
    /// A refusal of the request itself (4xx), which the same request meets again; not a timeout (408), too early (425)
    /// or too many (429), nor a temporary redirect (302, 303, 307: not followed, the receiver's address may be moving;
    /// 301 and 308 are final, above), nor the receiver's own failure (5xx).
    /// </summary>
    private static bool IsFinal(int status) => status is >= 400 and < 500 and not 408 and not 425 and not 429;

    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Webhook {WebhookId}: event {EventId} attempt {Attempt} failed: {Error}")]
        public static partial void AttemptFailed(ILogger logger, string webhookId, string eventId, int attempt, string error);

        [LoggerMessage(2, LogLevel.Warning, "Webhook {WebhookId}: event {EventId} dead-lettered after {Attempts} attempts: {Error}")]
        public static partial void DeadLettered(ILogger logger, string webhookId, string eventId, int attempts, string error);
    }
}
