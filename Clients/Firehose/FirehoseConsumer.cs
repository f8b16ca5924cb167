using System.Diagnostics;
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
/// <para>
/// While it works through a batch, the consumer renews its hold on the entries it has not acknowledged yet (every quarter
/// of <see cref="FirehoseConsumerOptions.ClaimAfter"/>), so that a slow handler's batch is not claimed by another consumer
/// of the group; and before an event it checks that it still holds it when its last renewal is older than half of that:
/// an entry claimed away (after this consumer lost Redis for that long) is left to the consumer that claimed it.
/// </para>
/// </remarks>
public sealed partial class FirehoseConsumer
{
    private const string FromPending = "0";
    private static readonly TimeSpan MinIdleDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>Renewals of a hold per claim time: three may fail before another consumer can claim.</summary>
    private const int RenewalsPerClaimTime = 4;

    /// <summary>
    /// A hold older than this share of the claim time is renewed before the next event is handed over: another consumer can
    /// claim an entry only after a whole claim time without renewal, so a hold this fresh is still good when the handler
    /// starts.
    /// </summary>
    private const int FreshHoldShare = 2;

    /// <summary>The shortest pause between background renewals, whatever the claim time.</summary>
    private static readonly TimeSpan MinRenewInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Renews this consumer's hold on the given entries (KEYS[1] the stream; ARGV group, consumer, entry ids): each entry
    /// still pending for this consumer is claimed again by it (resetting its idle time, JUSTID: not counted as a delivery);
    /// entries acknowledged, trimmed or claimed by another consumer are left alone. Returns the ids still held. One script,
    /// so that nothing can claim an entry between the owner check and the renewal.
    /// </summary>
    private const string RenewScript = """
        local held = {}
        for i = 3, #ARGV do
          if #redis.call('XPENDING', KEYS[1], ARGV[1], ARGV[i], ARGV[i], 1, ARGV[2]) > 0 then
            held[#held + 1] = ARGV[i]
          end
        end
        if #held == 0 then
          return held
        end
        local claim = { 'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0 }
        for _, id in ipairs(held) do
          claim[#claim + 1] = id
        end
        claim[#claim + 1] = 'JUSTID'
        return redis.call(unpack(claim))
        """;

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
        _seen = new RecentIds(options.DuplicateWindow, options.DuplicateWindowTime, Math.Max(options.DuplicateWindow, options.MaxDuplicateIds), options.Time);
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
                var readAt = Stopwatch.GetTimestamp();
                var read = await database.StreamReadGroupAsync(positions, _options.Group, _options.Consumer, _options.BatchSize);
                var any = false;
                foreach (var stream in read)
                {
                    any |= stream.Entries.Length > 0;
                    await HandleAsync(database, stream.Key, stream.Entries, readAt, handler, cancellationToken);
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
            // Read from the history of this consumer, entries are not renewed: whether it still holds them is checked.
            await HandleAsync(database, stream, entries, takenAt: null, handler, cancellationToken);
            after = entries[^1].Id;
        }
    }

    private async Task<bool> ClaimAbandonedAsync(IDatabase database, Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        var any = false;
        foreach (var stream in _streams)
        {
            var claimedAt = Stopwatch.GetTimestamp();
            var claimed = await database.StreamAutoClaimAsync(stream, _options.Group, _options.Consumer,
                (long)_options.ClaimAfter.TotalMilliseconds, "0-0", _options.BatchSize);
            if (claimed.ClaimedEntries.Length > 0)
            {
                Log.Claimed(_logger, _options.Group, _options.Consumer, claimed.ClaimedEntries.Length, stream.ToString());
                any = true;
                await HandleAsync(database, stream, claimed.ClaimedEntries, claimedAt, handler, cancellationToken);
            }
        }

        return any;
    }

    /// <summary>
    /// Hands over a batch this consumer took at <paramref name="takenAt"/> (a <see cref="Stopwatch"/> timestamp; null when
    /// reading did not renew the entries), acknowledging each entry after its handler returned.
    /// </summary>
    private async Task HandleAsync(IDatabase database, RedisKey stream, StreamEntry[] entries, long? takenAt,
        Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        if (entries.Length == 0)
        {
            return;
        }

        // Without claiming, nothing takes entries away from a busy consumer: no hold to keep.
        var hold = _options.ClaimAfter > TimeSpan.Zero ? new Hold(this, database, stream, entries, takenAt) : null;
        hold?.StartRenewing(cancellationToken);
        var claimedAway = 0;
        try
        {
            for (var i = 0; i < entries.Length; i++)
            {
                var entry = entries[i];
                cancellationToken.ThrowIfCancellationRequested();
                if (hold is not null && !await hold.HoldsAsync(i))
                {
                    // Another consumer claimed it: it delivers it (and acknowledges it); handing it over here too would
                    // be a duplicate, and acknowledging it would take it from that consumer.
                    claimedAway++;
                    continue;
                }

                // An entry trimmed away while pending comes back without fields: nothing to hand over.
                if (!entry.IsNull && entry.Values.Length > 0)
                {
                    var fields = entry.Values.Select(v => new KeyValuePair<string, string>(v.Name.ToString(), v.Value.ToString()));
                    if (!FirehoseFields.TryParse(fields, out var parsed))
                    {
                        Log.Malformed(_logger, stream.ToString(), entry.Id.ToString());
                    }
                    else if (!_seen.Contains(parsed!.Id))
                    {
                        await handler(parsed, cancellationToken);
                        // Seen only once handled: an event whose handler threw stays unacknowledged, and when it is read
                        // again (the next run drains what this consumer holds) it must be handed over, not dropped as seen.
                        _seen.Add(parsed.Id);
                        Handled++;
                    }
                }

                await database.StreamAcknowledgeAsync(stream, _options.Group, entry.Id);
            }
        }
        finally
        {
            if (hold is not null)
            {
                await hold.StopRenewingAsync();
            }
        }

        if (claimedAway > 0)
        {
            Log.ClaimedAway(_logger, _options.Group, _options.Consumer, claimedAway, stream.ToString());
        }
    }

    /// <summary>This consumer's hold on the entries of one batch it works through: renewed in the background, checked before each event.</summary>
    private sealed class Hold(FirehoseConsumer consumer, IDatabase database, RedisKey stream, StreamEntry[] entries, long? takenAt)
    {
        private readonly Lock _gate = new();
        private long? _confirmedAt = takenAt;
        private HashSet<string> _held = takenAt is null ? [] : entries.Select(e => e.Id.ToString()).ToHashSet(StringComparer.Ordinal);
        private int _next;
        private CancellationTokenSource? _stop;
        private Task _renewing = Task.CompletedTask;

        private TimeSpan ClaimAfter => consumer._options.ClaimAfter;

        public void StartRenewing(CancellationToken cancellationToken)
        {
            _stop = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            _renewing = RenewEveryAsync(TimeSpan.FromTicks(Math.Max(MinRenewInterval.Ticks, (ClaimAfter / RenewalsPerClaimTime).Ticks)), _stop.Token);
        }

        public async Task StopRenewingAsync()
        {
            await _stop!.CancelAsync();
            await _renewing;
            _stop.Dispose();
        }

        /// <summary>Whether this consumer still holds entry <paramref name="index"/>; renews first when the hold is not fresh.</summary>
        public async ValueTask<bool> HoldsAsync(int index)
        {
            Volatile.Write(ref _next, index);
            long? confirmedAt;
            lock (_gate)
            {
                confirmedAt = _confirmedAt;
            }

            if (confirmedAt is not { } at || Stopwatch.GetElapsedTime(at) >= ClaimAfter / FreshHoldShare)
            {
                // Redis errors stop the run here: the entries stay pending, with this consumer or with one that claimed them.
                await RenewAsync();
            }

            var id = entries[index].Id.ToString();
            lock (_gate)
            {
                return _held.Contains(id);
            }
        }

        private async Task RenewEveryAsync(TimeSpan interval, CancellationToken stop)
        {
            using var timer = new PeriodicTimer(interval);
            try
            {
                while (await timer.WaitForNextTickAsync(stop))
                {
                    try
                    {
                        await RenewAsync();
                    }
                    catch (Exception ex) when (ex is RedisException or TimeoutException)
                    {
                        // Boundary: Redis is away; the check before the next event renews again (or stops the run).
                        Log.RenewFailed(consumer._logger, consumer._options.Group, consumer._options.Consumer, ex.Message);
                    }
                }
            }
            catch (OperationCanceledException) when (stop.IsCancellationRequested)
            {
                // The batch is done.
            }
        }

        private async Task RenewAsync()
        {
            // Timed from before the request: the renewal happened at Redis no earlier than this.
            var startedAt = Stopwatch.GetTimestamp();
            var remaining = entries.Skip(Volatile.Read(ref _next)).Select(e => e.Id);
            var result = await database.ScriptEvaluateAsync(RenewScript, [stream],
                [consumer._options.Group, consumer._options.Consumer, .. remaining]);
            var held = ((RedisResult[])result!).Select(r => r.ToString()).ToHashSet(StringComparer.Ordinal);
            lock (_gate)
            {
                // Renewals may overlap (background and before an event): the one started last knows best.
                if (_confirmedAt is not { } at || startedAt > at)
                {
                    (_confirmedAt, _held) = (startedAt, held);
                }
            }
        }
    }
}
