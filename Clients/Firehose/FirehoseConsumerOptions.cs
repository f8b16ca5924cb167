using Orleans.Im.Events;

namespace Orleans.Im.Firehose;

/// <summary>What a <see cref="FirehoseConsumer"/> reads and as whom.</summary>
public sealed class FirehoseConsumerOptions
{
    /// <summary>
    /// The consumer group: every group sees every event once; consumers of one group share the work. Its position is
    /// kept by Redis, so a restarted consumer resumes where the group is.
    /// </summary>
    public required string Group { get; init; }

    /// <summary>This consumer's name within the group; keep it stable across restarts so it gets back what it held.</summary>
    public required string Consumer { get; init; }

    /// <summary>The event classes (streams) to read.</summary>
    public IReadOnlyList<EventClass> Classes { get; init; } = [EventClass.Message];

    /// <summary>Where a new group starts.</summary>
    public FirehoseStart Start { get; init; } = FirehoseStart.NewEvents;

    /// <summary>
    /// When set, a new group starts at the first event appended at or after this time (stream entry ids are Redis server
    /// times), instead of <see cref="Start"/>; e.g. a webhook's registration time.
    /// </summary>
    public DateTimeOffset? StartAt { get; init; }

    /// <summary>Entries read per stream per round trip.</summary>
    public int BatchSize { get; init; } = 200;

    /// <summary>The longest pause between polls when nothing is new (Redis Streams are polled: the client is multiplexed).</summary>
    public TimeSpan MaxIdleDelay { get; init; } = TimeSpan.FromMilliseconds(250);

    /// <summary>
    /// Entries another consumer of the group took but has not acknowledged for this long are claimed by this one
    /// (that consumer is presumed gone). Zero turns claiming off. A consumer renews its hold on what it took every quarter
    /// of this while its handler works, so a slow handler does not lose its entries; give every consumer of a group the
    /// same value.
    /// </summary>
    public TimeSpan ClaimAfter { get; init; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// How many recent event ids are remembered at least to drop duplicates (a publisher retry after a lost reply, or a
    /// replay of a range this consumer has just seen); zero turns dropping off.
    /// </summary>
    public int DuplicateWindow { get; init; } = 20_000;

    /// <summary>
    /// Ids seen within this long are remembered however many came since, up to <see cref="MaxDuplicateIds"/>: a
    /// publisher's retry comes at least its write timeout (5 s) after the original, and at 20,000 events a second a count
    /// alone would cover one. ~100 bytes an id.
    /// </summary>
    public TimeSpan DuplicateWindowTime { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The most ids remembered, whatever <see cref="DuplicateWindowTime"/> says (it bounds the memory).</summary>
    public int MaxDuplicateIds { get; init; } = 1_000_000;

    /// <summary>First wait before starting over after Redis failed; doubles up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan RetryDelay { get; init; } = TimeSpan.FromSeconds(1);

    /// <summary>Longest wait between attempts while Redis stays away.</summary>
    public TimeSpan MaxRetryDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>The clock of <see cref="DuplicateWindowTime"/> and of the retry delays (the system's unless a test sets one).</summary>
    public TimeProvider Time { get; init; } = TimeProvider.System;

    /// <summary>The largest <see cref="BatchSize"/>: a hold's renewal passes a batch's ids to one script, which has room for a few thousand.</summary>
    public const int MaxBatchSize = 1_000;

    /// <summary>The shortest <see cref="ClaimAfter"/> but zero: a hold is renewed four times per claim time, at most every 10 ms.</summary>
    public static readonly TimeSpan MinClaimAfter = TimeSpan.FromMilliseconds(100);

    /// <summary>The shortest <see cref="MaxIdleDelay"/>: below it, an idle consumer would poll Redis in a tight loop.</summary>
    public static readonly TimeSpan MinIdleDelay = TimeSpan.FromMilliseconds(10);

    /// <summary>Throws when a value would make the consumer misbehave (a hot poll loop, a batch of nothing, a negative wait).</summary>
    internal void Validate()
    {
        static void Require(bool valid, string name, string rule)
        {
            if (!valid)
            {
                throw new ArgumentOutOfRangeException(name, $"FirehoseConsumerOptions.{name} {rule}");
            }
        }

        Require(BatchSize is > 0 and <= MaxBatchSize, nameof(BatchSize), $"must be 1 to {MaxBatchSize}");
        Require(MaxIdleDelay >= MinIdleDelay && MaxIdleDelay <= TimeSpan.FromMinutes(1), nameof(MaxIdleDelay), $"must be {MinIdleDelay.TotalMilliseconds} ms to 1 minute");
        Require(ClaimAfter == TimeSpan.Zero || (ClaimAfter >= MinClaimAfter && ClaimAfter <= TimeSpan.FromDays(1)), nameof(ClaimAfter),
            $"must be zero (claiming off) or {MinClaimAfter.TotalMilliseconds} ms to 1 day");
        Require(DuplicateWindow >= 0, nameof(DuplicateWindow), "must not be negative");
        Require(DuplicateWindowTime >= TimeSpan.Zero && DuplicateWindowTime <= TimeSpan.FromDays(1), nameof(DuplicateWindowTime), "must be zero to 1 day");
        Require(MaxDuplicateIds >= 0, nameof(MaxDuplicateIds), "must not be negative");
        Require(RetryDelay > TimeSpan.Zero, nameof(RetryDelay), "must be positive");
        Require(MaxRetryDelay >= RetryDelay && MaxRetryDelay <= TimeSpan.FromHours(1), nameof(MaxRetryDelay), "must be RetryDelay to 1 hour");
        ArgumentNullException.ThrowIfNull(Time);
    }
}
