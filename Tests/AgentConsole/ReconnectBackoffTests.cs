using Orleans.Im.AgentConsole;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>The console's own reconnect pauses: doubling to a cap, spread at random, back to the start after a success.</summary>
[Trait("Category", "Unit")]
public sealed class ReconnectBackoffTests
{
    [Fact]
    public void Pauses_double_up_to_the_cap_each_shortened_by_at_most_the_jitter_share_and_start_over_after_a_reset()
    {
        var backoff = new ReconnectBackoff(new Random(7));
        var full = ReconnectBackoff.First;
        for (var attempt = 0; attempt < 12; attempt++)
        {
            var pause = backoff.Next();
            Assert.InRange(pause, full * (1 - ReconnectBackoff.JitterShare), full);
            full = TimeSpan.FromTicks(Math.Min(full.Ticks * 2, ReconnectBackoff.Longest.Ticks));
        }

        backoff.Reset();
        Assert.InRange(backoff.Next(), ReconnectBackoff.First * (1 - ReconnectBackoff.JitterShare), ReconnectBackoff.First);
    }

    [Fact]
    public void Pauses_are_spread_so_that_consoles_cut_off_together_do_not_retry_together()
    {
        var pauses = Enumerable.Range(0, 20).Select(seed => new ReconnectBackoff(new Random(seed)).Next()).Distinct().Count();
        Assert.True(pauses > 10, $"{pauses} distinct first pauses of 20 consoles");
    }
}
