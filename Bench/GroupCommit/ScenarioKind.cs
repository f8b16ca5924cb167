namespace Orleans.Im.Bench.GroupCommit;

/// <summary>Which append path a scenario measures.</summary>
public enum ScenarioKind
{
    /// <summary><c>AppendBatchAsync</c> with batches of a fixed size, one after another.</summary>
    DirectBatch,

    /// <summary><c>AppendAsync</c> through the group committer, from concurrent senders.</summary>
    GroupCommit,
}
