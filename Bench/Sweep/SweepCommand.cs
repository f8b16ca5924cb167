using System.Globalization;
using Orleans.Im.Bench.Load;
using Orleans.Im.Bench.P2P;

namespace Orleans.Im.Bench.Sweep;

/// <summary>
/// <c>sweep</c>: the p2p scenario at rising rates over the same signed-in users, until fewer than 99 % of the owed
/// deliveries arrive, send→deliver p99 passes 200 ms, or any send is refused or skipped, or any arrival is a duplicate,
/// misdelivered or unknown (see <see cref="FailuresOf"/>); reports the last rate that passed.
/// </summary>
public static class SweepCommand
{
    public const string OptionsHelp = """
        sweep options (p2p over TCP; lift the send limits as for p2p):
          --users N                 users online (1000)
          --start R                 first rate, messages per second (500)
          --step-percent P          each next rate is P % above the last (25)
          --max-rate R              stop here even if every step passed (50000)
          --seconds D               send phase per step (15)
          --body-bytes B            text length (40)
        """ + TcpClientOption.OptionsHelp;

    /// <summary>A step fails when less than this share of owed deliveries arrived.</summary>
    public const double MinDeliveredRatio = 0.99;

    /// <summary>A step fails when send→deliver p99 exceeds this.</summary>
    public const double MaxP99Milliseconds = 200;

    /// <summary>Fixed partners per user, as in p2p, so that conversations are active before the first step.</summary>
    private const int Partners = 4;

    /// <summary>The warm-up before the first step: activates the users' conversations.</summary>
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(10);

    /// <summary>Bounds the sweep whatever the options say.</summary>
    private const int MaxSteps = 40;

    private static readonly string[] OwnOptions = ["users", "start", "step-percent", "max-rate", "seconds", "body-bytes", TcpClientOption.Name];

    /// <summary>
    /// Why a step fails, or nothing when it passed. Besides the delivered ratio and p99: a refused or skipped send owes
    /// no delivery, so it leaves the ratio's denominator and a step could pass by refusing what it could not carry; and a
    /// duplicate, misdelivered or unknown arrival is a wrong delivery, whatever the ratio says.
    /// </summary>
    public static IReadOnlyList<string> FailuresOf(MessagingRunResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        var c = result.Counts;
        var failures = new List<string>();
        if (c.DeliveredRatio < MinDeliveredRatio)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"delivered {c.DeliveredRatio:P2} (lost {c.Lost})"));
        }

        if (c.DeliverLatency.P99 > MaxP99Milliseconds)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"p99 {c.DeliverLatency.P99:0.0} ms"));
        }

        if (c.Refused > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"refused {c.Refused} ({result.RefusedShare:P2} of offered)"));
        }

        if (result.Skipped > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"skipped {result.Skipped} ({result.SkippedShare:P2} of offered)"));
        }

        if (c.Duplicates > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"duplicates {c.Duplicates}"));
        }

        if (c.Misdelivered > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"misdelivered {c.Misdelivered}"));
        }

        if (c.Unknown > 0)
        {
            failures.Add(string.Create(CultureInfo.InvariantCulture, $"unknown arrivals {c.Unknown}"));
        }

        return failures;
    }

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = CommandLineOptions.Parse(args, [.. OwnOptions, .. LoadTarget.OptionNames]);
        var target = LoadTarget.From(options);
        var userCount = options.GetInt("users", 1000, 2, 19_000);
        var rate = (double)options.GetInt("start", 500, 1, 1_000_000);
        var step = options.GetInt("step-percent", 25, 1, 1000) / 100.0;
        var maxRate = options.GetInt("max-rate", 50_000, 1, 1_000_000);
        var seconds = options.GetInt("seconds", 15, 1, 3600);
        var bodyBytes = options.GetInt("body-bytes", 40, 1, 16_000);
        var transport = TcpClientOption.From(options);

        var tokens = await BenchTokens.LoadAsync(target.SigningKeyFile);
        var sink = new DeliverySink();
        using var hosts = new HostMetricsReader(target.MetricsUrls);
        var prefix = $"sweep-{Guid.NewGuid().ToString("N")[..6]}";
        Console.WriteLine($"sweep: signing in {userCount} users …");
        var users = await BenchUsers.ConnectAsync(transport, [.. Enumerable.Range(0, userCount).Select(i => $"{prefix}-{i}")], target, tokens, sink);
        try
        {
            var route = P2PCommand.RandomPairs(users, Partners);
            var sweepStart = RunStart.Now();
            await MessagingRun.RunAsync(rate, WarmUp, route, sink, hosts, bodyBytes);
            double? lastGood = null;
            MessagingRunResult? lastGoodResult = null;
            string? stopReason = null;
            for (var i = 0; i < MaxSteps && rate <= maxRate; i++, rate = Math.Ceiling(rate * (1 + step)))
            {
                var result = await MessagingRun.RunAsync(rate, TimeSpan.FromSeconds(seconds), route, sink, hosts, bodyBytes);
                var failures = FailuresOf(result);
                var passed = failures.Count == 0;
                var report = new RunReport("sweep-step").Set("client", TcpClientOption.NameOf(transport)).Set("users", userCount).Set("rate", rate)
                    .Set("passed", passed).Set("failures", failures);
                report.Line(string.Create(CultureInfo.InvariantCulture, $"sweep step {i + 1}: {rate:0} msg/s — {(passed ? "passed" : "failed")}"));
                MessagingRun.Describe(report, result);
                await report.WriteAsync(target.ResultsFile);
                if (!passed)
                {
                    stopReason = string.Create(CultureInfo.InvariantCulture, $"at {rate:0}/s {string.Join("; ", failures)}");
                    break;
                }

                lastGood = rate;
                lastGoodResult = result;
            }

            var summary = new RunReport("sweep").Started(sweepStart).Set("client", TcpClientOption.NameOf(transport)).Set("users", userCount).Set("lastGoodRate", lastGood).Set("stopReason", stopReason ?? "max rate reached")
                .Set("lastGoodP99", lastGoodResult?.Counts.DeliverLatency.P99).Set("lastGoodP50", lastGoodResult?.Counts.DeliverLatency.P50);
            summary.Line(string.Create(CultureInfo.InvariantCulture,
                $"sweep: last good rate {(lastGood is { } g ? g.ToString("0", CultureInfo.InvariantCulture) : "none")} msg/s (delivered ≥ 99 %, p99 ≤ 200 ms, nothing refused, skipped, duplicated, misdelivered or unknown); stopped: {stopReason ?? "max rate reached"}"));
            await summary.WriteAsync(target.ResultsFile);
            return 0;
        }
        finally
        {
            await BenchUsers.DisconnectAsync(users);
        }
    }
}
