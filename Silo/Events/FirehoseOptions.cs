using System.ComponentModel.DataAnnotations;
using Orleans.Im.Hosting;

namespace Orleans.Im.Silo.Events;

/// <summary>The event firehose (<c>IM:Events</c>): Redis Streams for other systems; see <c>docs/EVENTS.md</c>.</summary>
public sealed class FirehoseOptions
{
    public const string Section = "IM:Events";

    /// <summary>Off: events are not published at all (counted as dropped). On by default.</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>The Redis of the firehose; empty: the cluster's Redis (<c>IM:Redis:ConnectionString</c>).</summary>
    public string? Redis { get; set; }

    /// <summary>
    /// Each stream is trimmed to about this many entries (Redis trims whole nodes, so a little more is kept). It bounds
    /// Redis memory and how far back a consumer that was away can resume; older events are replayed from PostgreSQL.
    /// At least 1,000: 0 would not mean "unbounded" but trim each stream to almost nothing at every write.
    /// </summary>
    [CountRange(1_000, int.MaxValue)]
    public int MaxLength { get; set; } = 1_000_000;

    /// <summary>
    /// Events held in the silo while Redis cannot take them. When full, the oldest are dropped (and counted): the log
    /// stays the truth and the replay command re-publishes a range.
    /// </summary>
    [CountRange(1, 100_000_000)]
    public int BufferCapacity { get; set; } = 200_000;

    /// <summary>
    /// The memory the buffered events may take, as estimated from their text (two bytes a character, and their fields'
    /// overhead); past it the oldest are dropped as past <see cref="BufferCapacity"/>. An event carries a message's whole
    /// content (up to 16 KiB, a thumbnail with it), so a count alone would let an outage of Redis in an image-heavy chat
    /// grow the silo by gigabytes, and lose everything buffered, and chat on that silo, when it runs out of memory.
    /// </summary>
    [Range(1L << 20, 1L << 36)]
    public long BufferBytes { get; set; } = 256L << 20;

    /// <summary>Events written to Redis in one pipelined round trip.</summary>
    [CountRange(1, 100_000)]
    public int BatchSize { get; set; } = 512;

    /// <summary>
    /// How long the pump lets events gather before it writes, unless a full batch is waiting when it wakes. Both this silo
    /// and Redis pay per round trip (a write on loopback runs the receiver's network work in the sender's call), not per
    /// event: without it, a busy silo wrote ~5 events per round trip. Events reach the streams up to this much later.
    /// Zero writes as soon as an event arrives; at most a second (checked when the silo starts), since consumers wait for
    /// it.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:00:01")]
    public TimeSpan Linger { get; set; } = TimeSpan.FromMilliseconds(5);

    /// <summary>How long a batch may take before it counts as failed (and is retried).</summary>
    [TimeSpanRange("00:00:00.100", "00:05:00")]
    public TimeSpan WriteTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The longest pause between retries while Redis is down (the pause doubles from 50 ms up to this).</summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>On shutdown, how long the silo keeps trying to hand what it holds to Redis.</summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan FlushOnStop { get; set; } = TimeSpan.FromSeconds(5);
}
