using System.Globalization;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Im.Events;
using StackExchange.Redis;

namespace Orleans.Im.Firehose;

/// <summary>
/// Reads the event firehose with a Redis consumer group: each event is handed to the handler and acknowledged after
/// the handler returns, so a consumer that stops (or crashes) resumes where it left off — first with what it had
/// taken but not acknowledged, then with new events. Within a stream, events come in the order they were appended,
/// which for one conversation is seq order.
/// </summary>
/// <remarks>
/// Delivery is at least once from Redis (a crash between handling and acknowledging hands the event again); the
/// consumer drops event ids it has seen recently, and event ids of logged things are stable, so a handler that is
/// idempotent by <see cref="FirehoseEvent.Id"/> (or conversation and seq) sees each event once.
/// </remarks>
public sealed partial class FirehoseConsumer
{
    private const string FromPending = "0";
    private static readonly TimeSpan MinIdleDelay = TimeSpan.FromMilliseconds(10);

    private readonly IConnectionMultiplexer _redis;
    private readonly FirehoseConsumerOptions _options;
    private readonly ILogger _logger;
    private readonly RecentIds _seen;
    private readonly RedisKey[] _streams;

    public FirehoseConsumer(IConnectionMultiplexer redis, FirehoseConsumerOptions options, ILogger<FirehoseConsumer>? logger = null)
    {
        ArgumentNullException.ThrowIfNull(redis);
        ArgumentNullException.ThrowIfNull(options);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Group);
        ArgumentException.ThrowIfNullOrWhiteSpace(options.Consumer);
        if (options.Classes.Count == 0)
        {
            throw new ArgumentException("read at least one event class", nameof(options));
        }

        _redis = redis;
        _options = options;
        _logger = logger ?? NullLogger<FirehoseConsumer>.Instance;
        _seen = new RecentIds(options.DuplicateWindow);
        _streams = options.Classes.Distinct().Select(c => (RedisKey)FirehoseStreams.For(c)).ToArray();
    }

    /// <summary>Events handed to the handler so far (duplicates dropped are not counted).</summary>
    public long Handled { get; private set; }

    /// <summary>Creates the consumer group on each stream if it does not exist (<see cref="RunAsync"/> does this too).</summary>
    public async Task EnsureGroupAsync()
    {
        var database = _redis.GetDatabase();
        // A group created at "{ms}-0" delivers entries after that id: those appended from that millisecond on.
        var start = _options.StartAt is { } at ? (RedisValue)string.Create(CultureInfo.InvariantCulture, $"{Math.Max(0, at.ToUnixTimeMilliseconds() - 1)}-{ulong.MaxValue}")
            : _options.Start == FirehoseStart.Oldest ? StreamPosition.Beginning : StreamPosition.NewMessages;
        foreach (var stream in _streams)
        {
            try
            {
                await database.StreamCreateConsumerGroupAsync(stream, _options.Group, start, createStream: true);
            }
            catch (RedisServerException ex) when (ex.Message.StartsWith("BUSYGROUP", StringComparison.Ordinal))
            {
                // The group exists: it keeps its position.
            }
        }
    }

    /// <summary>
    /// Hands events to <paramref name="handler"/> until <paramref name="cancellationToken"/> is cancelled. The handler's
    /// exception stops the run with the event unacknowledged (it comes back at the next run).
    /// </summary>
    public async Task RunAsync(Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        await EnsureGroupAsync();
        var database = _redis.GetDatabase();
        try
        {
            // What this consumer took before a restart and did not acknowledge comes first.
            foreach (var stream in _streams)
            {
                await DrainPendingAsync(database, stream, handler, cancellationToken);
            }

            var idleDelay = MinIdleDelay;
            var nextClaim = DateTime.UtcNow + _options.ClaimAfter;
            while (!cancellationToken.IsCancellationRequested)
            {
                var positions = _streams.Select(s => new StreamPosition(s, StreamPosition.NewMessages)).ToArray();
                var read = await database.StreamReadGroupAsync(positions, _options.Group, _options.Consumer, _options.BatchSize);
                var any = false;
                foreach (var stream in read)
                {
                    any |= stream.Entries.Length > 0;
                    await HandleAsync(database, stream.Key, stream.Entries, handler, cancellationToken);
                }

                if (_options.ClaimAfter > TimeSpan.Zero && DateTime.UtcNow >= nextClaim)
                {
                    nextClaim = DateTime.UtcNow + _options.ClaimAfter;
                    any |= await ClaimAbandonedAsync(database, handler, cancellationToken);
                }

                if (any)
                {
                    idleDelay = MinIdleDelay;
                    continue;
                }

                await Task.Delay(idleDelay, cancellationToken);
                idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, _options.MaxIdleDelay.Ticks));
            }
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            // Stopped: everything handled was acknowledged; the rest stays with the group.
        }
    }

    private async Task DrainPendingAsync(IDatabase database, RedisKey stream, Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        RedisValue after = FromPending;
        while (true)
        {
            var entries = await database.StreamReadGroupAsync(stream, _options.Group, _options.Consumer, after, _options.BatchSize);
            if (entries.Length == 0)
            {
                return;
            }

            Log.ResumingPending(_logger, _options.Group, _options.Consumer, entries.Length, stream.ToString());
            await HandleAsync(database, stream, entries, handler, cancellationToken);
            after = entries[^1].Id;
        }
    }

    private async Task<bool> ClaimAbandonedAsync(IDatabase database, Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        var any = false;
        foreach (var stream in _streams)
        {
            var claimed = await database.StreamAutoClaimAsync(stream, _options.Group, _options.Consumer,
                (long)_options.ClaimAfter.TotalMilliseconds, "0-0", _options.BatchSize);
            if (claimed.ClaimedEntries.Length > 0)
            {
                Log.Claimed(_logger, _options.Group, _options.Consumer, claimed.ClaimedEntries.Length, stream.ToString());
                any = true;
                await HandleAsync(database, stream, claimed.ClaimedEntries, handler, cancellationToken);
            }
        }

        return any;
    }

    private async Task HandleAsync(IDatabase database, RedisKey stream, StreamEntry[] entries, Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        foreach (var entry in entries)
        {
            cancellationToken.ThrowIfCancellationRequested();
            // An entry trimmed away while pending comes back without fields: nothing to hand over.
            if (!entry.IsNull && entry.Values.Length > 0)
            {
                var fields = entry.Values.Select(v => new KeyValuePair<string, string>(v.Name.ToString(), v.Value.ToString()));
                if (!FirehoseFields.TryParse(fields, out var parsed))
                {
                    Log.Malformed(_logger, stream.ToString(), entry.Id.ToString());
                }
                else if (_seen.Add(parsed!.Id))
                {
                    await handler(parsed, cancellationToken);
                    Handled++;
                }
            }

            await database.StreamAcknowledgeAsync(stream, _options.Group, entry.Id);
        }
    }
}
