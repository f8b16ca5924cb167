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
            Assert.True(Take(ref budget, 1, 1_000));
        }

        Assert.False(Take(ref budget, 1, 1_000));
    }

    [Fact]
    public void It_refills_at_its_rate_up_to_its_burst()
    {
        var budget = new RequestBudget();
        Assert.True(Take(ref budget, 5, 1_000));

        // 10 a second: one more after 100 ms, not two.
        Assert.True(Take(ref budget, 1, 1_100));
        Assert.False(Take(ref budget, 1, 1_100));

        // A long pause refills to the burst, no further.
        Assert.True(Take(ref budget, 5, 100_000));
        Assert.False(Take(ref budget, 1, 100_000));
    }

    [Fact]
    public void A_refused_request_takes_nothing()
    {
        var budget = new RequestBudget();
        Assert.True(Take(ref budget, 3, 1_000));

        // Two left: a request of three is refused and leaves them for two of one.
        Assert.False(Take(ref budget, 3, 1_000));
        Assert.True(Take(ref budget, 1, 1_000));
        Assert.True(Take(ref budget, 1, 1_000));
        Assert.False(Take(ref budget, 1, 1_000));
    }

    [Fact]
    public void A_spent_budget_says_when_it_is_full_again()
    {
        var budget = new RequestBudget();
        Assert.Equal(0, FullAt(budget)); // never used: full

        Assert.True(Take(ref budget, 3, 1_000));
        Assert.Equal(1_300, FullAt(budget)); // three tokens at 10 a second
    }

    [Fact]
    public void A_spent_budget_is_kept_for_the_users_next_connection_until_it_would_have_refilled()
    {
        var spent = new SpentRequestBudgets();
        var budget = new RequestBudget();
        Assert.True(Take(ref budget, 5, 1_000));

        spent.Keep("alice", "phone", budget, FullAt(budget), now: 1_100);
        var next = spent.Take("alice", "phone", now: 1_200);
        Assert.NotNull(next);
        var resumed = next.Value;
        Assert.True(Take(ref resumed, 2, 1_200)); // two refilled in 200 ms
        Assert.False(Take(ref resumed, 1, 1_200));

        // Taken once; and one full again by the time it is asked for is not kept.
        Assert.Null(spent.Take("alice", "phone", now: 1_200));
        spent.Keep("bob", "phone", budget, FullAt(budget), now: 1_100);
        Assert.Null(spent.Take("bob", "phone", now: 2_000));

        // By device: the user's other device starts full; of two budgets of one device, the one spent more is kept.
        spent.Keep("dave", "tab", budget, FullAt(budget), now: 1_100);
        Assert.Null(spent.Take("dave", "phone", now: 1_200));
        var lessSpent = new RequestBudget();
        Assert.True(Take(ref lessSpent, 1, 1_000));
        spent.Keep("dave", "tab", lessSpent, FullAt(lessSpent), now: 1_100);
        var kept = spent.Take("dave", "tab", now: 1_200)!.Value;
        Assert.False(Take(ref kept, 3, 1_200)); // the 5-token spend was kept: 2 back by now

        // A budget already full when its connection closes is not kept at all.
        spent.Keep("carol", "phone", budget, FullAt(budget), now: 5_000);
        Assert.Equal(0, spent.Count);
    }

    private static bool Take(ref RequestBudget budget, int cost, long now) => budget.TryTake(cost, Rate, Burst, now, TicksPerSecond);

    private static long FullAt(RequestBudget budget) => budget.FullAt(Rate, Burst, TicksPerSecond);
}
