using System.Globalization;
using Orleans.Im.Bench.Statistics;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>Writes the results as markdown tables: each cell is the median of the runs and their range.</summary>
public static class GroupCommitReport
{
    public static void Write(TextWriter output, IReadOnlyList<ScenarioResult> results, GroupCommitSettings settings)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(results);
        ArgumentNullException.ThrowIfNull(settings);

        var direct = results.Where(r => r.Scenario.Kind == ScenarioKind.DirectBatch).ToArray();
        var grouped = results.Where(r => r.Scenario.Kind == ScenarioKind.GroupCommit).ToArray();
        var runs = settings.Runs;

        output.WriteLine(Invariant($"Each cell: median of {runs} run{(runs == 1 ? "" : "s")} (min–max). A run ends after {settings.Messages} messages or {settings.RunTimeLimit.TotalSeconds:0} s, whichever comes first."));
        output.WriteLine();
        output.WriteLine("Direct batches: `AppendBatchAsync`, one writer, each batch awaited before the next.");
        output.WriteLine();
        output.WriteLine("| batch size | messages/s | batch latency p50 (ms) | batch latency p99 (ms) | messages per run |");
        output.WriteLine("|---:|---:|---:|---:|---:|");
        foreach (var result in direct)
        {
            output.WriteLine(Invariant($"| {result.Scenario.Parameter} | {Spread(result, s => s.MessagesPerSecond).Format("N0")} | {Spread(result, s => s.LatencyP50Ms).Format("0.00")} | {Spread(result, s => s.LatencyP99Ms).Format("0.00")} | {Spread(result, s => s.Messages).Format("N0")} |"));
        }

        output.WriteLine();
        output.WriteLine("Group commit: `AppendAsync` from concurrent senders, each in its own conversation, each awaiting its ack before its next send.");
        output.WriteLine();
        output.WriteLine("| senders | messages/s | ack latency p50 (ms) | ack latency p99 (ms) | messages per insert | messages per run |");
        output.WriteLine("|---:|---:|---:|---:|---:|---:|");
        foreach (var result in grouped)
        {
            output.WriteLine(Invariant($"| {result.Scenario.Parameter} | {Spread(result, s => s.MessagesPerSecond).Format("N0")} | {Spread(result, s => s.LatencyP50Ms).Format("0.00")} | {Spread(result, s => s.LatencyP99Ms).Format("0.00")} | {Spread(result, s => s.AverageBatchSize).Format("0.0")} | {Spread(result, s => s.Messages).Format("N0")} |"));
        }

        var baseline = direct.FirstOrDefault(r => r.Scenario.Parameter == 1);
        if (baseline is not null)
        {
            output.WriteLine();
            output.WriteLine("Throughput against batch 1: the median of the per-round ratios (range over rounds; each round ran every configuration once).");
            output.WriteLine();
            output.WriteLine("| configuration | messages/s vs batch 1 |");
            output.WriteLine("|---|---:|");
            foreach (var result in results.Where(r => r != baseline))
            {
                var ratios = result.Runs.Zip(baseline.Runs, (run, baseRun) => run.MessagesPerSecond / baseRun.MessagesPerSecond);
                var spread = RunSpread.Of(ratios);
                output.WriteLine(Invariant($"| {GroupCommitBenchmark.ScenarioLabel(result.Scenario)} | {spread.Median:0.0}× ({spread.Min:0.0}–{spread.Max:0.0}) |"));
            }
        }

        WriteObserverCheck(output, results);
    }

    private static void WriteObserverCheck(TextWriter output, IReadOnlyList<ScenarioResult> results)
    {
        var observerDisagrees = results
            .Where(r => r.Scenario.Kind == ScenarioKind.DirectBatch)
            .Any(r => r.Runs.Any(s => !DirectBatchScenario.ObserverAgrees(s, r.Scenario.Parameter)));
        if (observerDisagrees)
        {
            output.WriteLine();
            output.WriteLine("Note: the insert statements seen did not match the direct batches sent, so \"messages per insert\" is not reliable.");
        }
    }

    private static RunSpread Spread(ScenarioResult result, Func<RunSample, double> measure) => RunSpread.Of(result.Runs.Select(measure));

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
