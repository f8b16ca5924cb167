namespace Orleans.Im.Silo.Storage;

/// <summary>How the PostgreSQL writers batch commits. Bound from <c>IM:Storage:GroupCommit</c>.</summary>
public sealed class GroupCommitOptions
{
    public const string Section = "IM:Storage:GroupCommit";

    /// <summary>The most items committed in one statement.</summary>
    public int MaxBatchSize { get; set; } = 500;

    /// <summary>
    /// Batches committed at once. While one commits, the next fills: under load batches grow by themselves, and an
    /// idle system commits each item at once, with no added wait.
    /// </summary>
    public int Concurrency { get; set; } = 2;

    /// <summary>How long a commit may take before callers are told storage is unavailable.</summary>
    public TimeSpan CommitTimeout { get; set; } = TimeSpan.FromSeconds(10);
}
