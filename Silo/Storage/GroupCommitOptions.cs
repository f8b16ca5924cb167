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
    /// Batches committed at once. While one commits, the next fills: under load batches grow by themselves, and an
    /// idle system commits each item at once, with no added wait.
    /// </summary>
    [CountRange(1, 256)]
    public int Concurrency { get; set; } = 2;

    /// <summary>How long a commit may take before callers are told storage is unavailable.</summary>
    [TimeSpanRange("00:00:00.100", "00:05:00")]
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
