using System.Diagnostics;
using System.Globalization;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Im.Events;
using StackExchange.Redis;

namespace Orleans.Im.Firehose;

/// <summary>
/// Reads the event firehose with a Redis consumer group: each event is handed to the handler and acknowledged after
/// the handler returns, so a consumer that stops (or crashes) resumes where it left off — first with what it had
/// taken but not acknowledged, then with new events. Within a stream, events come in the order they were appended,
/// which for one conversation is seq order — except for entries claimed from a consumer of the group that went away,
/// which come when claimed, after newer ones.
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
    private const string StartOfPendingList = "0-0";

    /// <summary>Renewals of a hold per claim time: three may fail before another consumer can claim.</summary>
    private const int RenewalsPerClaimTime = 4;

    /// <summary>
    /// A hold older than this share of the claim time is renewed before the next event is handed over: another consumer can
    /// claim an entry only after a whole claim time without renewal, so a hold this fresh is still good when the handler
    /// starts.
    /// </summary>
    private const int FreshHoldShare = 2;

    /// <summary>Redis error codes (an error's first word) that say "not now" (see <see cref="IsTransient"/>).</summary>
    private static readonly HashSet<string> TransientServerErrors = new(["NOGROUP", "LOADING", "READONLY", "BUSY", "MASTERDOWN", "TRYAGAIN", "CLUSTERDOWN", "UNBLOCKED"], StringComparer.Ordinal);

    /// <summary>The shortest pause between background renewals, whatever the claim time.</summary>
    private static readonly TimeSpan MinRenewInterval = TimeSpan.FromMilliseconds(10);

    /// <summary>
    /// Renews this consumer's hold on the given entries (KEYS[1] the stream; ARGV group, consumer, entry ids): each entry
    /// still pending for this consumer is claimed again by it (resetting its idle time, JUSTID: not counted as a delivery);
    /// entries acknowledged or claimed by another consumer are left alone. Returns two lists: the ids pending for this
    /// consumer, and those trimmed from the stream and pending for nobody — XCLAIM takes a trimmed entry off the pending
    /// list (and leaves it out of its answer), but this consumer read it and has its fields, so it is still its to hand over
    /// unless another consumer claimed and acknowledged it meanwhile, which only a hold that lapsed allows
    /// (<see cref="Hold"/> decides). One script, so that nothing can claim an entry between the owner check and the renewal.
    /// </summary>
    private const string RenewScript = """
        local renew = {}
        local trimmed = {}
        for i = 3, #ARGV do
          local id = ARGV[i]
          if #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1, ARGV[2]) > 0 then
            renew[#renew + 1] = id
          elseif #redis.call('XPENDING', KEYS[1], ARGV[1], id, id, 1) == 0 and #redis.call('XRANGE', KEYS[1], id, id) == 0 then
            trimmed[#trimmed + 1] = id
          end
        end
        if #renew > 0 then
          local claim = { 'XCLAIM', KEYS[1], ARGV[1], ARGV[2], 0 }
          for _, id in ipairs(renew) do
            claim[#claim + 1] = id
          end
          claim[#claim + 1] = 'JUSTID'
          redis.call(unpack(claim))
        end
        return { renew, trimmed }
        """;

    private readonly IConnectionMultiplexer _redis;
    private readonly FirehoseConsumerOptions _options;
    private readonly ILogger _logger;
    private readonly RecentIds _seen;
    private readonly RedisKey[] _streams;

    // A read answered since the last Redis failure: the outage is over, and the next one waits from the first delay.
    private bool _readSinceFailure;

    // When this consumer next looks for what departed consumers of the group left (null before the first run).
    private DateTime? _nextClaim;

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

        options.Validate();

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
    /// Hands events to <paramref name="handler"/> until <paramref name="cancellationToken"/> is cancelled. Redis being
    /// away (connection lost, timeouts, a group deleted) does not end the run: it is logged, and the run starts over —
    /// what this consumer held first — after <see cref="FirehoseConsumerOptions.RetryDelay"/>, doubling up to
    /// <see cref="FirehoseConsumerOptions.MaxRetryDelay"/>. The handler's exception stops the run with the event
    /// unacknowledged (it comes back at the next run); catch in the handler what it can decide to skip.
    /// </summary>
    public async Task RunAsync(Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(handler);
        var delay = _options.RetryDelay;
        while (true)
        {
            try
            {
                await RunOnceAsync(handler, cancellationToken);
                return;
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                // Stopped: everything handled was acknowledged; the rest stays with the group.
                return;
            }
            catch (HandlerFailedException failed)
            {
                ExceptionDispatchInfo.Throw(failed.InnerException!);
            }
            catch (Exception ex) when (IsTransient(ex))
            {
                // Boundary: Redis is away. The run starts over from what this consumer holds (nothing handled is lost:
                // an event is acknowledged only after its handler returned).
                if (_readSinceFailure)
                {
                    delay = _options.RetryDelay;
                }

                _readSinceFailure = false;
                Log.RedisUnavailable(_logger, _options.Group, _options.Consumer, ex.Message, delay);
                try
                {
                    await Task.Delay(delay, _options.Time, cancellationToken);
                }
                catch (OperationCanceledException)
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>
    /// Redis away for now: the connection lost, a timeout, a server loading, failing over or busy, the group gone (made
    /// again at the start). Anything else (no permission, a wrong type, a command the server lacks) would fail the same
    /// way at every try: it ends the run, for the caller to see.
    /// </summary>
    private static bool IsTransient(Exception ex) => ex switch
    {
        RedisConnectionException or TimeoutException => true,
        RedisServerException server => TransientServerErrors.Contains(server.Message.Split(' ', 2)[0]),
        _ => false,
    };

    private async Task RunOnceAsync(Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        await EnsureGroupAsync();
        var database = _redis.GetDatabase();

        // What this consumer took before a restart and did not acknowledge comes first.
        foreach (var stream in _streams)
        {
            await DrainPendingAsync(database, stream, handler, cancellationToken);
        }

        var idleDelay = FirehoseConsumerOptions.MinIdleDelay;
        // Kept across restarts: Redis failing more often than the claim time would otherwise put the claim off for ever.
        _nextClaim ??= DateTime.UtcNow + _options.ClaimAfter;
        var positions = _streams.Select(s => new StreamPosition(s, StreamPosition.NewMessages)).ToArray();
        while (!cancellationToken.IsCancellationRequested)
        {
            var readAt = Stopwatch.GetTimestamp();
            var read = await database.StreamReadGroupAsync(positions, _options.Group, _options.Consumer, _options.BatchSize);
            _readSinceFailure = true;
            var any = read.Any(s => s.Entries.Length > 0);
            if (any)
            {
                await HandleAsync(database, [.. read.Select(s => (s.Key, s.Entries))], readAt, handler, cancellationToken);
            }

            if (_options.ClaimAfter > TimeSpan.Zero && DateTime.UtcNow >= _nextClaim)
            {
                _nextClaim = DateTime.UtcNow + _options.ClaimAfter;
                any |= await ClaimAbandonedAsync(database, handler, cancellationToken);
            }

            if (any)
            {
                idleDelay = FirehoseConsumerOptions.MinIdleDelay;
                continue;
            }

            await Task.Delay(idleDelay, cancellationToken);
            idleDelay = TimeSpan.FromTicks(Math.Min(idleDelay.Ticks * 2, _options.MaxIdleDelay.Ticks));
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
            await HandleAsync(database, [(stream, entries)], takenAt: null, handler, cancellationToken);
            after = entries[^1].Id;
        }
    }

    /// <summary>
    /// Claims what other consumers of the group took and left unacknowledged for <see cref="FirehoseConsumerOptions.ClaimAfter"/>,
    /// through each stream's whole pending list: one XAUTOCLAIM looks at no more than ten times its count of entries, and
    /// those at the head of the list may be live consumers' (a webhook's retries), which would hide a departed one's below.
    /// </summary>
    private async Task<bool> ClaimAbandonedAsync(IDatabase database, Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        var any = false;
        foreach (var stream in _streams)
        {
            RedisValue next = StartOfPendingList;
            do
            {
                var claimedAt = Stopwatch.GetTimestamp();
                var claimed = await database.StreamAutoClaimAsync(stream, _options.Group, _options.Consumer,
                    (long)_options.ClaimAfter.TotalMilliseconds, next, _options.BatchSize);
                if (claimed.ClaimedEntries.Length > 0)
                {
                    Log.Claimed(_logger, _options.Group, _options.Consumer, claimed.ClaimedEntries.Length, stream.ToString());
                    any = true;
                    await HandleAsync(database, [(stream, claimed.ClaimedEntries)], claimedAt, handler, cancellationToken);
                }

                next = claimed.NextStartId;
            }
            while (!next.IsNullOrEmpty && next != StartOfPendingList && !cancellationToken.IsCancellationRequested);
        }

        return any;
    }

    /// <summary>
    /// Hands over the batches of one read, which this consumer took at <paramref name="takenAt"/> (a
    /// <see cref="Stopwatch"/> timestamp; null when reading did not renew the entries), acknowledging each entry after its
    /// handler returned. The hold on every batch of the read is renewed from the start, not only the one being handed over:
    /// one read takes entries from each stream it names, and the later streams' would otherwise wait unrenewed behind a
    /// slow handler of the first, to be claimed by another consumer.
    /// </summary>
    private async Task HandleAsync(IDatabase database, IReadOnlyList<(RedisKey Stream, StreamEntry[] Entries)> batches, long? takenAt,
        Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        // Without claiming, nothing takes entries away from a busy consumer: no hold to keep.
        var holds = batches.Select(b => b.Entries.Length > 0 && _options.ClaimAfter > TimeSpan.Zero ? new Hold(this, database, b.Stream, b.Entries, takenAt) : null).ToArray();
        foreach (var hold in holds)
        {
            hold?.StartRenewing();
        }

        try
        {
            for (var b = 0; b < batches.Count; b++)
            {
                await HandleBatchAsync(database, batches[b].Stream, batches[b].Entries, holds[b], handler, cancellationToken);
            }
        }
        finally
        {
            // Each one stopped whatever happens to the others.
            await Task.WhenAll(holds.OfType<Hold>().Select(h => h.StopRenewingAsync()));
        }
    }

    private async Task HandleBatchAsync(IDatabase database, RedisKey stream, StreamEntry[] entries, Hold? hold,
        Func<FirehoseEvent, CancellationToken, Task> handler, CancellationToken cancellationToken)
    {
        var claimedAway = 0;
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
                    try
                    {
                        await handler(parsed, cancellationToken);
                    }
                    catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
                    {
                        // The handler's own failure, told apart from Redis's: it ends the run rather than being retried here.
                        throw new HandlerFailedException(ex);
                    }

                    // Seen only once handled: an event whose handler threw stays unacknowledged, and when it is read
                    // again (the next run drains what this consumer holds) it must be handed over, not dropped as seen.
                    _seen.Add(parsed.Id);
                    Handled++;
                }
            }

            await database.StreamAcknowledgeAsync(stream, _options.Group, entry.Id);
        }

        if (claimedAway > 0)
        {
            Log.ClaimedAway(_logger, _options.Group, _options.Consumer, claimedAway, stream.ToString());
        }
    }

    /// <summary>Carries a handler's exception out of the run untouched by its Redis retries.</summary>
    private sealed class HandlerFailedException(Exception inner) : Exception(inner.Message, inner);

    /// <summary>This consumer's hold on the entries of one batch it works through: renewed in the background, checked before each event.</summary>
    private sealed class Hold(FirehoseConsumer consumer, IDatabase database, RedisKey stream, StreamEntry[] entries, long? takenAt) : IDisposable
    {
        private readonly Lock _gate = new();
        private long? _confirmedAt = takenAt;
        private HashSet<string> _held = takenAt is null ? [] : entries.Select(e => e.Id.ToString()).ToHashSet(StringComparer.Ordinal);
        private int _next;
        private CancellationTokenSource? _stop;
        private Task _renewing = Task.CompletedTask;

        private TimeSpan ClaimAfter => consumer._options.ClaimAfter;

        /// <summary>
        /// Renews until <see cref="StopRenewingAsync"/>, not until the run is cancelled: a handler still finishing its
        /// event after the stop (a commit, a delivery that ignores the token) keeps its hold, so that the event is not
        /// claimed and handled again by another consumer meanwhile.
        /// </summary>
        public void StartRenewing()
        {
            _stop = new CancellationTokenSource();
            _renewing = RenewEveryAsync(TimeSpan.FromTicks(Math.Max(MinRenewInterval.Ticks, (ClaimAfter / RenewalsPerClaimTime).Ticks)), _stop.Token);
        }

        public async Task StopRenewingAsync()
        {
            await _stop!.CancelAsync();
            await _renewing;
            Dispose();
        }

        public void Dispose() => _stop?.Dispose();

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
                // Redis errors start the run over from here: the entries stay pending, with this consumer or with one that claimed them.
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
            var lists = (RedisResult[])result!;
            var held = ((RedisResult[])lists[0]!).Select(r => r.ToString()).ToHashSet(StringComparer.Ordinal);
            lock (_gate)
            {
                // Trimmed and pending for nobody: still this consumer's while its hold never lapsed (confirmed within the
                // claim time), since nobody could claim it then; after a lapse another consumer may have claimed it and
                // acknowledged it, and handing it over here would deliver it twice.
                if (_confirmedAt is { } confirmed && Stopwatch.GetElapsedTime(confirmed, startedAt) < ClaimAfter)
                {
                    held.UnionWith(((RedisResult[])lists[1]!).Select(r => r.ToString()));
                }

                // Renewals may overlap (background and before an event): the one started last knows best.
                if (_confirmedAt is not { } at || startedAt > at)
                {
                    (_confirmedAt, _held) = (startedAt, held);
                }
            }
        }
    }
}
