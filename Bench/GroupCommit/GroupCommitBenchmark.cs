using System.Globalization;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>
/// Runs every scenario once to warm up, then <see cref="GroupCommitSettings.Runs"/> rounds in which every scenario
/// runs once. Interleaving the rounds spreads the noise of a shared machine over all scenarios alike, so that their
/// ratios hold better than their absolute numbers.
/// </summary>
public static class GroupCommitBenchmark
{
    public static async Task<IReadOnlyList<ScenarioResult>> RunAsync(
        IReadOnlyList<IGroupCommitScenario> scenarios, GroupCommitSettings settings, TextWriter progress, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(scenarios);
        ArgumentNullException.ThrowIfNull(settings);
        ArgumentNullException.ThrowIfNull(progress);

        // Warm-up: JIT, connection pool, the committer's workers, PostgreSQL's caches. Not recorded.
        foreach (var scenario in scenarios)
        {
            var warmup = await scenario.RunAsync(Math.Max(1, settings.Messages / 5), GroupCommitSettings.WarmupTimeLimit, cancellationToken);
            Report(progress, "warm-up", scenario, warmup);
        }

        var runs = scenarios.Select(_ => new List<RunSample>(settings.Runs)).ToArray();
        for (var round = 1; round <= settings.Runs; round++)
        {
            for (var i = 0; i < scenarios.Count; i++)
            {
                var sample = await scenarios[i].RunAsync(settings.Messages, settings.RunTimeLimit, cancellationToken);
                runs[i].Add(sample);
                Report(progress, string.Create(CultureInfo.InvariantCulture, $"run {round}/{settings.Runs}"), scenarios[i], sample);
            }
        }

        return scenarios.Select((scenario, i) => new ScenarioResult(scenario, runs[i])).ToArray();
    }

    private static void Report(TextWriter progress, string what, IGroupCommitScenario scenario, RunSample sample) =>
        progress.WriteLine(string.Create(CultureInfo.InvariantCulture,
            $"  {what,-9} {ScenarioLabel(scenario),-12} {sample.Messages,7} msgs in {sample.Elapsed.TotalSeconds,6:0.00} s = {sample.MessagesPerSecond,8:0} msg/s, p50 {sample.LatencyP50Ms,7:0.000} ms, p99 {sample.LatencyP99Ms,7:0.000} ms, {sample.AverageBatchSize,6:0.0} msgs/insert{(sample.TimeLimited ? " (time limit)" : "")}"));

    /// <summary>"batch 10" or "10 senders".</summary>
    public static string ScenarioLabel(IGroupCommitScenario scenario)
    {
        ArgumentNullException.ThrowIfNull(scenario);
        return scenario.Kind == ScenarioKind.DirectBatch
            ? string.Create(CultureInfo.InvariantCulture, $"batch {scenario.Parameter}")
            : string.Create(CultureInfo.InvariantCulture, $"{scenario.Parameter} sender{(scenario.Parameter == 1 ? "" : "s")}");
    }
}
