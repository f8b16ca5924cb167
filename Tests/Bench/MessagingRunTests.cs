using Orleans.Im.Bench.Load;
using Orleans.Im.Bench.Sweep;

namespace Orleans.Im.Tests.Bench;

/// <summary>A messaging run against users that answer in process (no server), and the sweep's verdict on a step.</summary>
[Trait("Category", "Unit")]
public sealed class MessagingRunTests
{
    private static readonly TimeSpan LateDuplicate = TimeSpan.FromMilliseconds(500);

    [Fact]
    public async Task A_duplicate_that_arrives_after_everything_owed_is_counted_in_its_run()
    {
        var sink = new DeliverySink();
        sink.Register(["alice", "bob"]);
        var alice = new EchoBenchUser("alice", "bob", sink, LateDuplicate);
        using var hosts = new HostMetricsReader([]);

        var result = await MessagingRun.RunAsync(50, TimeSpan.FromSeconds(1), _ => new MessageRoute(alice, "p2p:alice:bob", 1, "bob"),
            sink, hosts, bodyBytes: 10);

        // Every message arrived at once, so the drain ends at once; the duplicates come half a second later.
        Assert.True(result.Counts.Sent > 0);
        Assert.Equal(result.Counts.Sent, result.Counts.Delivered);
        Assert.Equal(result.Counts.Sent, result.Counts.Duplicates);
        Assert.Equal(result.Counts.Sent, result.Offered);
        Assert.NotEmpty(SweepCommand.FailuresOf(result));
    }

    [Theory]
    [InlineData("refused")]
    [InlineData("skipped")]
    [InlineData("duplicates")]
    [InlineData("misdelivered")]
    [InlineData("unknown")]
    public void A_sweep_step_fails_on_any_refused_or_skipped_send_or_wrong_arrival(string what)
    {
        var latency = new LatencySummary(100, 1, 2, 3, 4);
        var counts = new DeliveryCounts(100, what == "refused" ? 99 : 100, what == "refused" ? 1 : 0, 100, 100, 0,
            what == "duplicates" ? 1 : 0, what == "unknown" ? 1 : 0, latency, latency) { Misdelivered = what == "misdelivered" ? 1 : 0 };
        var start = new RunStart(DateTimeOffset.UtcNow, "0 0 0");
        var result = new MessagingRunResult(10, 10, 1, what == "skipped" ? 1 : 0, counts, [], start, 0) { Offered = 101 };

        var failures = SweepCommand.FailuresOf(result);

        Assert.Contains(failures, f => f.StartsWith(what, StringComparison.Ordinal));
    }

    [Fact]
    public void A_clean_sweep_step_passes()
    {
        var latency = new LatencySummary(100, 1, 2, 3, 4);
        var counts = new DeliveryCounts(100, 100, 0, 100, 100, 0, 0, 0, latency, latency);
        var result = new MessagingRunResult(10, 10, 1, 0, counts, [], new RunStart(DateTimeOffset.UtcNow, "0 0 0"), 0) { Offered = 100 };

        Assert.Empty(SweepCommand.FailuresOf(result));
    }
}
