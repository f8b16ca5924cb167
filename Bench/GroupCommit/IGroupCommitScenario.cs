namespace Orleans.Im.Bench.GroupCommit;

/// <summary>One configuration of the benchmark (a batch size, or a number of senders), run repeatedly.</summary>
public interface IGroupCommitScenario
{
    /// <summary>The kind of path measured; scenarios of a kind share a table.</summary>
    ScenarioKind Kind { get; }

    /// <summary>The batch size or the number of senders.</summary>
    int Parameter { get; }

    /// <summary>Appends about <paramref name="messages"/> messages to fresh conversations and measures it.</summary>
    /// <param name="messages">How many messages to append.</param>
    /// <param name="timeLimit">When to stop sending even if not all messages went out.</param>
    /// <param name="cancellationToken">Stops the run (and fails it).</param>
    Task<RunSample> RunAsync(int messages, TimeSpan timeLimit, CancellationToken cancellationToken);
}
