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

    [Fact]
    public void A_spent_budget_says_when_it_is_full_again()
    {
        var budget = new RequestBudget();
        Assert.Equal(0, budget.FullAt(Rate, Burst, TicksPerSecond)); // never used: full

        Assert.True(budget.TryTake(3, Rate, Burst, now: 1_000, TicksPerSecond));
        Assert.Equal(1_300, budget.FullAt(Rate, Burst, TicksPerSecond)); // three tokens at 10 a second
    }

    [Fact]
    public void A_spent_budget_is_kept_for_the_users_next_connection_until_it_would_have_refilled()
    {
        var spent = new SpentRequestBudgets();
        var budget = new RequestBudget();
        Assert.True(budget.TryTake(5, Rate, Burst, now: 1_000, TicksPerSecond));

        spent.Keep("alice", "phone", budget, budget.FullAt(Rate, Burst, TicksPerSecond), now: 1_100);
        var next = spent.Take("alice", "phone", now: 1_200);
        Assert.NotNull(next);
        var resumed = next.Value;
        Assert.True(resumed.TryTake(2, Rate, Burst, now: 1_200, TicksPerSecond)); // two refilled in 200 ms
        Assert.False(resumed.TryTake(1, Rate, Burst, now: 1_200, TicksPerSecond));

        // Taken once; and one full again by the time it is asked for is not kept.
        Assert.Null(spent.Take("alice", "phone", now: 1_200));
        spent.Keep("bob", "phone", budget, budget.FullAt(Rate, Burst, TicksPerSecond), now: 1_100);
        Assert.Null(spent.Take("bob", "phone", now: 2_000));

        // By device: the user's other device starts full; of two budgets of one device, the one spent more is kept.
        spent.Keep("dave", "tab", budget, budget.FullAt(Rate, Burst, TicksPerSecond), now: 1_100);
        Assert.Null(spent.Take("dave", "phone", now: 1_200));
        var lessSpent = new RequestBudget();
        Assert.True(lessSpent.TryTake(1, Rate, Burst, now: 1_000, TicksPerSecond));
        spent.Keep("dave", "tab", lessSpent, lessSpent.FullAt(Rate, Burst, TicksPerSecond), now: 1_100);
        var kept = spent.Take("dave", "tab", now: 1_200)!.Value;
        Assert.False(kept.TryTake(3, Rate, Burst, now: 1_200, TicksPerSecond)); // the 5-token spend was kept: 2 back by now

        // A budget already full when its connection closes is not kept at all.
        spent.Keep("carol", "phone", budget, budget.FullAt(Rate, Burst, TicksPerSecond), now: 5_000);
        Assert.Equal(0, spent.Count);
    }
}
