using Orleans.Im.EdgeHost.Memory;

namespace Orleans.Im.Tests.Edge;

/// <summary>When the edge counts a login storm as over and collects its garbage (<see cref="LoginStormPolicy"/>).</summary>
[Trait("Category", "Unit")]
public sealed class LoginStormPolicyTests
{
    private static readonly DateTimeOffset Start = new(2026, 12, 4, 6, 0, 0, TimeSpan.Zero);

    [Fact]
    public void A_storm_is_collected_once_logins_have_been_quiet_long_enough()
    {
        var policy = new LoginStormPolicy(minLogins: 5_000, quietFor: TimeSpan.FromSeconds(10), minInterval: TimeSpan.FromMinutes(5));
        var clock = new Ticks(policy);

        // Ten seconds of 1,000 logins a second: a storm, so never now.
        for (var i = 0; i < 10; i++)
        {
            Assert.False(clock.Next(1_000));
        }

        // Quiet (a trickle below the threshold): not before ten seconds of it.
        for (var i = 0; i < 9; i++)
        {
            Assert.False(clock.Next(LoginStormPolicy.QuietLoginsPerSecond - 1));
        }

        Assert.True(clock.Next(0, out var stormLogins));
        Assert.Equal(10_000 + (9 * (LoginStormPolicy.QuietLoginsPerSecond - 1)), stormLogins);
        Assert.Equal(0, policy.LoginsSinceCompaction);
    }

    [Fact]
    public void Everyday_reconnects_never_add_up_to_a_storm_within_the_threshold()
    {
        var policy = new LoginStormPolicy(minLogins: 5_000, quietFor: TimeSpan.FromSeconds(10), minInterval: TimeSpan.FromMinutes(5));
        var clock = new Ticks(policy);

        for (var i = 0; i < 60; i++)
        {
            Assert.False(clock.Next(50));
        }

        Assert.Equal(3_000, policy.LoginsSinceCompaction);
    }

    [Fact]
    public void A_second_storm_waits_for_the_minimum_interval()
    {
        var policy = new LoginStormPolicy(minLogins: 1_000, quietFor: TimeSpan.FromSeconds(5), minInterval: TimeSpan.FromMinutes(5));
        var clock = new Ticks(policy);
        clock.Next(2_000);
        var collected = 0;
        for (var i = 0; i < 10; i++)
        {
            collected += clock.Next(0) ? 1 : 0;
        }

        Assert.Equal(1, collected);

        // Another storm a minute later: counted, but collected only five minutes after the first collection.
        clock.Idle(TimeSpan.FromSeconds(50));
        clock.Next(2_000);
        var firstAllowed = -1;
        for (var second = 0; second < 300; second++)
        {
            if (clock.Next(0))
            {
                firstAllowed = second;
                break;
            }
        }

        Assert.InRange(firstAllowed, 200, 250);
    }

    [Fact]
    public void A_late_tick_is_judged_by_its_rate_not_its_count()
    {
        var policy = new LoginStormPolicy(minLogins: 100, quietFor: TimeSpan.FromSeconds(2), minInterval: TimeSpan.FromMinutes(5));
        var clock = new Ticks(policy);
        clock.Next(1_000);

        // 150 logins over a 3-second tick is 50 a second: quiet, and long enough.
        Assert.True(clock.Next(150, TimeSpan.FromSeconds(3)));
    }

    [Fact]
    public void Zero_turns_it_off()
    {
        var policy = new LoginStormPolicy(minLogins: 0, quietFor: TimeSpan.FromSeconds(1), minInterval: TimeSpan.Zero);
        var clock = new Ticks(policy);
        clock.Next(100_000);
        for (var i = 0; i < 30; i++)
        {
            Assert.False(clock.Next(0));
        }
    }

    /// <summary>Feeds the policy one tick at a time: the time moves on, and the running login count grows.</summary>
    private sealed class Ticks
    {
        private readonly LoginStormPolicy _policy;
        private DateTimeOffset _now = Start;
        private long _logins;

        public Ticks(LoginStormPolicy policy)
        {
            _policy = policy;
            _policy.Tick(_now, _logins, out _);
        }

        public bool Next(long logins, TimeSpan? after = null) => Next(logins, out _, after);

        public bool Next(long logins, out long stormLogins, TimeSpan? after = null)
        {
            _now += after ?? TimeSpan.FromSeconds(1);
            _logins += logins;
            return _policy.Tick(_now, _logins, out stormLogins);
        }

        public void Idle(TimeSpan duration)
        {
            for (var elapsed = TimeSpan.Zero; elapsed < duration; elapsed += TimeSpan.FromSeconds(1))
            {
                Next(0);
            }
        }
    }
}
