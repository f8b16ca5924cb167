using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.Tests.Edge;

/// <summary>The token bucket behind each connection's request budget, on timestamps of the test's own (one tick a millisecond).</summary>
[Trait("Category", "Unit")]
public sealed class RequestBudgetUnitTests
{
    private const long TicksPerSecond = 1000;
    private const double Rate = 10;
    private const double Burst = 5;

    [Fact]
    public void A_new_budget_is_full_and_refuses_past_its_burst()
    {
        var budget = new RequestBudget();
        for (var i = 0; i < Burst; i++)
        {
            Assert.True(budget.TryTake(1, Rate, Burst, now: 1_000, TicksPerSecond));
        }

        Assert.False(budget.TryTake(1, Rate, Burst, now: 1_000, TicksPerSecond));
    }

    [Fact]
    public void It_refills_at_its_rate_up_to_its_burst()
    {
        var budget = new RequestBudget();
        Assert.True(budget.TryTake(5, Rate, Burst, now: 1_000, TicksPerSecond));

        // 10 a second: one more after 100 ms, not two.
        Assert.True(budget.TryTake(1, Rate, Burst, now: 1_100, TicksPerSecond));
        Assert.False(budget.TryTake(1, Rate, Burst, now: 1_100, TicksPerSecond));

        // A long pause refills to the burst, no further.
        Assert.True(budget.TryTake(5, Rate, Burst, now: 100_000, TicksPerSecond));
        Assert.False(budget.TryTake(1, Rate, Burst, now: 100_000, TicksPerSecond));
    }

    [Fact]
    public void A_refused_request_takes_nothing()
    {
        var budget = new RequestBudget();
        Assert.True(budget.TryTake(3, Rate, Burst, now: 1_000, TicksPerSecond));

        // Two left: a request of three is refused and leaves them for two of one.
        Assert.False(budget.TryTake(3, Rate, Burst, now: 1_000, TicksPerSecond));
        Assert.True(budget.TryTake(1, Rate, Burst, now: 1_000, TicksPerSecond));
        Assert.True(budget.TryTake(1, Rate, Burst, now: 1_000, TicksPerSecond));
        Assert.False(budget.TryTake(1, Rate, Burst, now: 1_000, TicksPerSecond));
    }
}
