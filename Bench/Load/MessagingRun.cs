using System.Diagnostics;
using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// One open-loop messaging run: messages at an aggregate rate for a duration, each routed by the scenario, then a drain
/// until every owed delivery arrived (or a limit). Shared by p2p, signalr, group and sweep.
/// </summary>
public static class MessagingRun
{
    /// <summary>How long to wait after the send phase for acks and deliveries still on their way.</summary>
    public static readonly TimeSpan DrainLimit = TimeSpan.FromSeconds(15);

    /// <summary>
    /// After the drain, when nothing is owed: how long arrivals are still counted before the run's figures are taken,
    /// so that late duplicates and misdeliveries count in this run.
    /// </summary>
    public static readonly TimeSpan QuietPeriod = TimeSpan.FromSeconds(2);

    /// <summary>Sends awaiting their ack at once; beyond it sends are skipped (counted), so a stalled server cannot exhaust memory.</summary>
    private const int MaxInFlight = 50_000;

    /// <summary>Ledger room beyond rate × duration, for pacing catch-up.</summary>
    private const double CapacityMargin = 1.1;

    public static async Task<MessagingRunResult> RunAsync(
        double ratePerSecond, TimeSpan duration, Func<Random, MessageRoute> route, DeliverySink sink, HostMetricsReader hosts, int bodyBytes)
    {
        ArgumentNullException.ThrowIfNull(route);
        ArgumentNullException.ThrowIfNull(sink);
        var start = RunStart.Now();
        var tag = "b" + Guid.NewGuid().ToString("N")[..8];
        var ledger = new DeliveryLedger((int)Math.Min(int.MaxValue - 1, ratePerSecond * duration.TotalSeconds * CapacityMargin + 100), sink.RegisteredUsers);
        sink.Attach(tag, ledger);
        var body = BenchUsers.Body(bodyBytes);
        var random = new Random();
        long inFlight = 0, skipped = 0;
        var window = new ResourceWindow(hosts);
        await window.StartAsync();

        var clock = Stopwatch.StartNew();
        var pacing = await OpenLoopPacer.RunAsync(ratePerSecond, duration, (number, scheduled) =>
        {
            if (Interlocked.Read(ref inFlight) >= MaxInFlight)
            {
                skipped++;
                return;
            }

            var next = route(random);
            var index = ledger.Reserve(next.ExpectedDeliveries, scheduled, next.RecipientId);
            if (index < 0)
            {
                skipped++;
                return;
            }

            Interlocked.Increment(ref inFlight);
            _ = SendAsync(next, tag + "-" + index.ToString(CultureInfo.InvariantCulture), body, index);
        });
        var sendSeconds = clock.Elapsed.TotalSeconds;

        var drain = Stopwatch.StartNew();
        while (drain.Elapsed < DrainLimit && (Interlocked.Read(ref inFlight) > 0 || ledger.Outstanding() > 0))
        {
            await Task.Delay(50);
        }

        var drainSeconds = drain.Elapsed.TotalSeconds;
        var settled = Interlocked.Read(ref inFlight) == 0 && ledger.Outstanding() == 0;
        var resources = await window.EndAsync();
        if (settled)
        {
            // Nothing is owed, but a duplicate or a misdelivery may still be on its way, and the next run's Attach would
            // take it from this ledger unseen. Only what is not owed can arrive now, so delivered/s is not changed by it.
            await Task.Delay(QuietPeriod);
        }

        return new MessagingRunResult(pacing.Issued / sendSeconds, sendSeconds, drainSeconds, skipped, ledger.Count(), resources, start,
            pacing.MaxLag.TotalMilliseconds) { Offered = pacing.Issued };

        async Task SendAsync(MessageRoute message, string clientMsgId, string text, int index)
        {
            try
            {
                ledger.Acked(index, await message.Sender.SendTextAsync(message.ConversationId, clientMsgId, text));
            }
            catch (Exception ex) when (ex is not OutOfMemoryException)
            {
                // Timeouts and lost connections: a refused send, not a crash of the run.
                ledger.Acked(index, stored: false);
            }
            finally
            {
                Interlocked.Decrement(ref inFlight);
            }
        }
    }

    /// <summary>
    /// A scenario's measurement: one warm-up run (activations, JIT; not reported), then <paramref name="runs"/> measured
    /// runs over the same users, each written as a report that <paramref name="newReport"/> starts (scenario fields and
    /// title) and this completes. Answers each measured run's delivered per second and send→deliver p99, for the medians.
    /// </summary>
    public static async Task<(List<double> DeliveredPerSecond, List<double> DeliverP99)> MeasureAsync(
        double ratePerSecond, TimeSpan warmUp, TimeSpan duration, int runs, Func<Random, MessageRoute> route, DeliverySink sink,
        HostMetricsReader hosts, int bodyBytes, string resultsFile, Func<int, RunReport> newReport)
    {
        ArgumentNullException.ThrowIfNull(newReport);
        await RunAsync(ratePerSecond, warmUp, route, sink, hosts, bodyBytes);
        var delivered = new List<double>();
        var p99s = new List<double>();
        for (var run = 1; run <= runs; run++)
        {
            var result = await RunAsync(ratePerSecond, duration, route, sink, hosts, bodyBytes);
            var report = newReport(run);
            Describe(report, result);
            await report.WriteAsync(resultsFile);
            delivered.Add(result.DeliveredPerSecond);
            p99s.Add(result.Counts.DeliverLatency.P99);
        }

        return (delivered, p99s);
    }

    /// <summary>Adds a run's figures to a report, as fields and summary lines.</summary>
    public static void Describe(RunReport report, MessagingRunResult result)
    {
        ArgumentNullException.ThrowIfNull(report);
        ArgumentNullException.ThrowIfNull(result);
        var c = result.Counts;
        report.Started(result.Start).Set("offeredRate", Math.Round(result.OfferedRate, 1)).Set("sendSeconds", Math.Round(result.SendSeconds, 2))
            .Set("drainSeconds", Math.Round(result.DrainSeconds, 2)).Set("maxPacerLagMs", Math.Round(result.MaxPacerLagMilliseconds, 1))
            .Set("offered", result.Offered).Set("skipped", result.Skipped).Set("skippedShare", Math.Round(result.SkippedShare, 5))
            .Set("refusedShare", Math.Round(result.RefusedShare, 5)).Set("counts", c)
            .Set("storedPerSecond", Math.Round(result.StoredPerSecond, 1)).Set("deliveredPerSecond", Math.Round(result.DeliveredPerSecond, 1))
            .Set("deliveredRatio", Math.Round(c.DeliveredRatio, 5));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"  offered {result.Offered} ({result.OfferedRate:0}/s) for {result.SendSeconds:0.0} s (+{result.DrainSeconds:0.0} s drain); sent {c.Sent}, acked {c.Acked}, refused {c.Refused} ({result.RefusedShare:P2} of offered), skipped {result.Skipped} ({result.SkippedShare:P2} of offered)"));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"  deliveries: expected {c.ExpectedDeliveries} (of stored sends only: refused and skipped owe none), delivered {c.Delivered} ({c.DeliveredRatio:P2}), lost {c.Lost}, duplicates {c.Duplicates}{(c.PerRecipient ? "" : " (counted per message, not per recipient: too many to track)")}, misdelivered {c.Misdelivered}, unknown {c.Unknown}"));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"  stored {result.StoredPerSecond:0}/s, delivered {result.DeliveredPerSecond:0}/s"));
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"  latencies count from each message's scheduled send time; the generator fell behind its schedule by at most {result.MaxPacerLagMilliseconds:0.0} ms"));
        report.Line($"  send→ack     {c.AckLatency}");
        report.Line($"  send→deliver {c.DeliverLatency}");
        if (c.DeliverLatency.Unarrived > 0)
        {
            report.Line("  (a lost delivery is a send→deliver sample at how long it was waited for, so p99 cannot look good while messages are missing)");
        }

        report.Resources(result.Resources);
    }
}
