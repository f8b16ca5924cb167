namespace Orleans.Im.Bench.GroupCommit;

/// <summary>The measured runs of one scenario, in the order they ran (run i of every scenario ran in round i).</summary>
public sealed record ScenarioResult(IGroupCommitScenario Scenario, IReadOnlyList<RunSample> Runs);
