using System.Diagnostics;
using System.Diagnostics.Metrics;
using Microsoft.Extensions.Options;
using Orleans.Im.Events;
using StackExchange.Redis;

namespace Orleans.Im.Silo.Events;

/// <summary>
/// The silo's firehose: grains enqueue events (never waiting), and one pump writes them to their Redis streams in
/// pipelined batches, in the order they were enqueued. While Redis cannot take them they stay in a bounded buffer
/// (oldest dropped when full, counted) and the pump retries with backoff; the backlog is a metric.
/// </summary>
public sealed partial class RedisFirehosePublisher : BackgroundService, IEventFirehose
{
    /// <summary>The meter of the firehose's instruments (exported on <c>/metrics</c>).</summary>
    public const string MeterName = "Orleans.Im.Firehose";

    private static readonly TimeSpan MinRetryDelay = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// The least time between two log lines about dropped events (each says how many since the last; the counter has them
    /// all): a buffer overflowing for hours would otherwise log at the pace of writes.
    /// </summary>
    private static readonly TimeSpan DroppedLogInterval = TimeSpan.FromSeconds(10);

    private readonly FirehoseOptions _options;
    private readonly string _redisConfiguration;
    private readonly ILogger<RedisFirehosePublisher> _logger;
    private readonly Queue<Pending> _buffer = new();
    private readonly Lock _gate = new();
    private readonly SemaphoreSlim _wake = new(0);
    private readonly Counter<long> _published;
    private readonly Counter<long> _dropped;
    private long _nextNumber;
    private int _wakePending;
    private int _backlog;
    private long _bufferedBytes;
    private long _droppedSinceLog;
    private long _droppedTotal;
    private long? _droppedLoggedAt;
    private bool _redisDown;
    private ConnectionMultiplexer? _redis;

    public RedisFirehosePublisher(IOptions<FirehoseOptions> options, IMeterFactory meters, ILogger<RedisFirehosePublisher> logger)
    {
        _options = options.Value;
        _redisConfiguration = _options.Redis ?? throw new InvalidOperationException("IM:Events:Redis is not set");
        _logger = logger;
        var meter = meters.Create(MeterName);
        meter.CreateObservableGauge("im_firehose_backlog", () => Volatile.Read(ref _backlog), "{event}",
            "Events buffered in this silo that Redis has not taken yet.");
        _published = meter.CreateCounter<long>("im_firehose_published_total", "{event}", "Events written to the firehose streams.");
        _dropped = meter.CreateCounter<long>("im_firehose_dropped_total", "{event}",
            "Events dropped because the buffer was full while Redis was unavailable (replay them from PostgreSQL).");
    }

    /// <summary>Events held, not yet in Redis.</summary>
    public int Backlog => Volatile.Read(ref _backlog);

    /// <summary>The estimated size of the events held (what <see cref="FirehoseOptions.BufferBytes"/> bounds).</summary>
    public long BufferedBytes
    {
        get
        {
            lock (_gate)
            {
                return _bufferedBytes;
            }
        }
    }

    /// <summary>Events dropped since start because the buffer was full (the process's count of <c>im_firehose_dropped_total</c>).</summary>
    public long Dropped => Interlocked.Read(ref _droppedTotal);

    /// <summary>True while the last write to Redis failed.</summary>
    public bool RedisUnavailable => Volatile.Read(ref _redisDown);

    public void Publish(FirehoseEvent firehoseEvent)
    {
        ArgumentNullException.ThrowIfNull(firehoseEvent);
        if (!_options.Enabled)
        {
            return;
        }

        var bytes = EstimatedBytes(firehoseEvent);
        var dropped = 0;
        lock (_gate)
        {
            while (_buffer.Count > 0 && (_buffer.Count >= _options.BufferCapacity || _bufferedBytes + bytes > _options.BufferBytes))
            {
                _bufferedBytes -= _buffer.Dequeue().Bytes;
                dropped++;
            }

            _buffer.Enqueue(new Pending(++_nextNumber, firehoseEvent, bytes));
            _bufferedBytes += bytes;
            _backlog = _buffer.Count;
        }

        if (dropped > 0)
        {
            _dropped.Add(dropped);
            Interlocked.Add(ref _droppedSinceLog, dropped);
            Interlocked.Add(ref _droppedTotal, dropped);
        }

        if (Interlocked.Exchange(ref _wakePending, 1) == 0)
        {
            _wake.Release();
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        if (!_options.Enabled)
        {
            Log.Disabled(_logger);
            return;
        }

        var configuration = ConfigurationOptions.Parse(_redisConfiguration);
        // Keep reconnecting in the background, and fail commands at once while disconnected rather than queueing
        // them inside the client: our own buffer is the queue, bounded and measured.
        configuration.AbortOnConnectFail = false;
        configuration.BacklogPolicy = BacklogPolicy.FailFast;
        _redis = await ConnectionMultiplexer.ConnectAsync(configuration);
        try
        {
            await PumpAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            await FlushOnStopAsync();
        }
    }

    public override void Dispose()
    {
        _redis?.Dispose();
        _wake.Dispose();
        base.Dispose();
    }

    private async Task PumpAsync(CancellationToken stoppingToken)
    {
        var retryDelay = MinRetryDelay;
        while (true)
        {
            await _wake.WaitAsync(stoppingToken);
            if (_options.Linger > TimeSpan.Zero && Backlog < _options.BatchSize)
            {
                await Task.Delay(_options.Linger, stoppingToken);
            }

            // Cleared only now: events published while lingering are taken below without waking the pump again.
            Volatile.Write(ref _wakePending, 0);
            while (TakeBatch() is { Length: > 0 } batch)
            {
                var taken = await WriteAsync(batch);
                Remove(batch, taken);
                if (taken.All(t => t))
                {
                    if (_redisDown)
                    {
                        _redisDown = false;
                        Log.RedisBack(_logger, Backlog);
                    }

                    retryDelay = MinRetryDelay;
                    // Redis up but slower than the silo publishes also overflows the buffer: said here, not only after a
                    // failed write.
                    LogDropped(force: false);
                    if (batch.Length < _options.BatchSize)
                    {
                        // Caught up: what arrived during the write woke the pump again, and waits out the linger. (An
                        // event taken above may have woken it too: then it finds nothing, which costs one linger.)
                        break;
                    }

                    continue;
                }

                if (!_redisDown)
                {
                    _redisDown = true;
                    Log.RedisUnavailable(_logger, Backlog);
                }

                LogDropped(force: false);
                await Task.Delay(retryDelay, stoppingToken);
                retryDelay = TimeSpan.FromTicks(Math.Min(retryDelay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    private async Task FlushOnStopAsync()
    {
        var deadline = DateTime.UtcNow + _options.FlushOnStop;
        while (DateTime.UtcNow < deadline && TakeBatch() is { Length: > 0 } batch)
        {
            var taken = await WriteAsync(batch);
            Remove(batch, taken);
            if (!taken.All(t => t))
            {
                await Task.Delay(MinRetryDelay);
            }
        }

        LogDropped(force: true);
        if (Backlog > 0)
        {
            Log.LostOnStop(_logger, Backlog);
        }
    }

    /// <summary>Logs the events dropped since the last such line, at most once per <see cref="DroppedLogInterval"/> unless forced.</summary>
    private void LogDropped(bool force)
    {
        if (Volatile.Read(ref _droppedSinceLog) == 0
            || (!force && _droppedLoggedAt is { } at && Stopwatch.GetElapsedTime(at) < DroppedLogInterval))
        {
            return;
        }

        if (Interlocked.Exchange(ref _droppedSinceLog, 0) is > 0 and var lost)
        {
            _droppedLoggedAt = Stopwatch.GetTimestamp();
            Log.Dropped(_logger, lost, _options.BufferCapacity, _options.BufferBytes >> 20);
        }
    }

    private Pending[] TakeBatch()
    {
        lock (_gate)
        {
            return _buffer.Take(_options.BatchSize).ToArray();
        }
    }

    /// <summary>
    /// Drops from the buffer the events of the batch Redis took (unless overflow already did). Those not taken keep their
    /// places, ahead of everything published since.
    /// </summary>
    private void Remove(Pending[] batch, bool[] taken)
    {
        var written = taken.Count(t => t);
        if (written == 0)
        {
            return;
        }

        var last = batch[^1].Number;
        lock (_gate)
        {
            if (written == batch.Length)
            {
                while (_buffer.Count > 0 && _buffer.Peek().Number <= last)
                {
                    _bufferedBytes -= _buffer.Dequeue().Bytes;
                }
            }
            else
            {
                // Some streams took their events, others did not (rare: a write failed for one key). Rebuilt in order.
                var takenNumbers = batch.Where((_, i) => taken[i]).Select(p => p.Number).ToHashSet();
                var kept = _buffer.Where(p => !takenNumbers.Contains(p.Number)).ToArray();
                _buffer.Clear();
                _bufferedBytes = 0;
                foreach (var pending in kept)
                {
                    _buffer.Enqueue(pending);
                    _bufferedBytes += pending.Bytes;
                }
            }

            _backlog = _buffer.Count;
        }

        _published.Add(written);
    }

    /// <summary>
    /// Writes a batch in one pipelined round trip, each stream's events in a transaction of their own (<c>MULTI</c> …
    /// <c>EXEC</c>); returns which events Redis took. A stream takes all of its events of the batch or none: were some
    /// taken and one before them not, the retry would append it after them, out of the order the stream promises, and
    /// write them again besides (for ever, were the failure lasting, as for a key of the wrong type). A transaction whose
    /// answer is lost is written again whole, after itself: its repeats come later, in order, and consumers drop them
    /// by id.
    /// </summary>
    private async Task<bool[]> WriteAsync(Pending[] batch)
    {
        var database = _redis!.GetDatabase();
        var writes = new List<(int[] Indexes, Task<bool> Committed, Task<RedisValue>[] Adds)>();
        var all = new List<Task>(batch.Length + 4);
        try
        {
            foreach (var stream in Enumerable.Range(0, batch.Length).GroupBy(i => batch[i].Event.Class))
            {
                var key = FirehoseStreams.For(stream.Key);
                var transaction = database.CreateTransaction();
                var indexes = stream.ToArray();
                var adds = indexes.Select(i =>
                {
                    var fields = FirehoseFields.ToFields(batch[i].Event).Select(f => new NameValueEntry(f.Key, f.Value)).ToArray();
                    return transaction.StreamAddAsync(key, fields, maxLength: _options.MaxLength, useApproximateMaxLength: true);
                }).ToArray();
                var committed = transaction.ExecuteAsync();
                writes.Add((indexes, committed, adds));
                all.Add(committed);
                all.AddRange(adds);
            }

            await Task.WhenAll(all).WaitAsync(_options.WriteTimeout);
        }
        catch (Exception ex) when (ex is RedisException or TimeoutException or ObjectDisposedException or OperationCanceledException)
        {
            // Boundary: Redis is down or slow (while disconnected, commands fail at once, even synchronously), or refused
            // one stream's events (an aborted transaction cancels its commands); what was not taken stays buffered and is
            // retried (a retried event keeps its id, so a consumer can tell).
            Log.WriteFailed(_logger, ex.Message);
        }

        var taken = new bool[batch.Length];
        foreach (var (indexes, committed, adds) in writes)
        {
            if (committed is { IsCompletedSuccessfully: true, Result: true } && adds.All(a => a.IsCompletedSuccessfully))
            {
                foreach (var i in indexes)
                {
                    taken[i] = true;
                }
            }
        }

        return taken;
    }

    /// <summary>
    /// What an event holds in memory, about: its strings (two bytes a character) and the objects around them. The content
    /// is most of it.
    /// </summary>
    private static long EstimatedBytes(FirehoseEvent e) =>
        EventOverheadBytes + 2L * (e.Id.Length + e.Type.Length + e.Data.Length + (e.ConversationId?.Length ?? 0) + (e.UserId?.Length ?? 0));

    /// <summary>The record, its strings' headers and the buffer's slot, about.</summary>
    private const int EventOverheadBytes = 200;

    private readonly record struct Pending(long Number, FirehoseEvent Event, long Bytes);
}
