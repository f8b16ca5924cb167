using Orleans.Im.Hosting;

namespace Orleans.Im.Silo.Storage;

/// <summary>How the PostgreSQL writers batch commits. Bound from <c>IM:Storage:GroupCommit</c>.</summary>
public sealed class GroupCommitOptions
{
    public const string Section = "IM:Storage:GroupCommit";

    /// <summary>The most items committed in one statement.</summary>
    [CountRange(1, 100_000)]
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>
    /// The most rows committed in one statement, where an item holds several (a conversation's run of messages holds up
    /// to <c>MessageLimits.MaxSendsPerCall</c>); a single item larger than this is committed alone. Bounds the size of a
    /// statement: 500 runs of 64 messages of 16 KiB would be half a gigabyte.
    /// </summary>
    [CountRange(1, 1_000_000)]
    public int MaxBatchRows { get; set; } = 1_000;

    /// <summary>
    /// Batches committed at once. While one commits, the next fills: under load batches grow by themselves, and an
    /// idle system commits each item at once, with no added wait.
    /// </summary>
    [CountRange(1, 256)]
    public int Concurrency { get; set; } = 2;

    /// <summary>How long a commit may take before callers are told storage is unavailable.</summary>
    [TimeSpanRange("00:00:00.100", "00:05:00")]
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// How long a caller waits for its item, queued and committing, before it is told storage is unavailable (its retry
    /// is idempotent). <see cref="CommitTimeout"/> bounds one commit only: behind a stalled database, items queue
    /// through one timed-out commit after another. An item still queued at its deadline is not committed.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan MaxWait { get; set; } = TimeSpan.FromSeconds(15);
}
