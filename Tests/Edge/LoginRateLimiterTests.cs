using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;

namespace Orleans.Im.Tests.Edge;

/// <summary>The login limiter alone: an account's failures are reserved when an attempt begins, not after its slow hash.</summary>
[Trait("Category", "Unit")]
public sealed class LoginRateLimiterTests
{
    private const int FailuresPerAccount = 5;

    private static LoginRateLimiter Limiter() => new(Options.Create(new AuthOptions
    {
        LoginFailuresPerAccount = FailuresPerAccount,
        LoginAttemptsPerAddress = 1000,
        LoginRateWindow = TimeSpan.FromHours(1),
    }), TimeProvider.System);

    [Fact]
    public void Attempts_begun_at_once_never_exceed_the_accounts_failure_limit()
    {
        var limiter = Limiter();

        // Guesses sent in parallel all begin before any hash is done: only as many as the limit may be tried.
        var begun = Enumerable.Range(0, 50).AsParallel().Count(i => limiter.TryBegin("alice", $"10.0.0.{i}"));

        Assert.Equal(FailuresPerAccount, begun);
    }

    [Fact]
    public void A_right_password_gives_its_reservation_back()
    {
        var limiter = Limiter();
        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.TryBegin("alice", "10.0.0.1"));
            limiter.Succeeded("alice", "10.0.0.1");
        }

        // Failures alone use the allowance up.
        for (var i = 0; i < FailuresPerAccount; i++)
        {
            Assert.True(limiter.TryBegin("alice", "10.0.0.1"));
        }

        Assert.False(limiter.TryBegin("alice", "10.0.0.1"));
        Assert.True(limiter.TryBegin("bob", "10.0.0.1"));
    }

    [Fact]
    public void Right_passwords_too_are_held_per_account_and_a_refusal_for_the_account_leaves_the_address_its_allowance()
    {
        var limiter = new LoginRateLimiter(Options.Create(new AuthOptions
        {
            LoginFailuresPerAccount = 5,
            LoginsPerAccount = 10,
            LoginAttemptsPerAddress = 12,
            LoginRateWindow = TimeSpan.FromHours(1),
        }), TimeProvider.System);

        // Signing in again and again with the right password: each costs a hash and a session, so it is held too.
        for (var i = 0; i < 10; i++)
        {
            Assert.True(limiter.TryBegin("alice", "10.0.0.1"));
            limiter.Succeeded("alice", "10.0.0.1");
        }

        Assert.False(limiter.TryBegin("alice", "10.0.0.1"));

        // Alice's refusals were hers, not the address's: others behind it sign in (more than its allowance left, had
        // they been counted).
        for (var i = 0; i < 20; i++)
        {
            Assert.False(limiter.TryBegin("alice", "10.0.0.1"));
        }

        Assert.True(limiter.TryBegin("bob", "10.0.0.1"));
    }

    [Fact]
    public void Accepted_refreshes_are_not_counted_behind_one_address_only_refused_ones_are()
    {
        var limiter = new LoginRateLimiter(Options.Create(new AuthOptions { LoginAttemptsPerAddress = 3, LoginRateWindow = TimeSpan.FromHours(1) }), TimeProvider.System);

        // A thousand users' pages renewing through one proxy: none of them uses the allowance up.
        for (var i = 0; i < 1000; i++)
        {
            Assert.True(limiter.TryRefresh($"user{i % 10}", "10.0.0.1"));
            limiter.RefreshSucceeded($"user{i % 10}", "10.0.0.1");
        }

        // Made-up tokens do.
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryRefresh("mallory", "10.0.0.1"));
        }

        Assert.False(limiter.TryRefresh("mallory", "10.0.0.1"));
        Assert.True(limiter.TryRefresh("mallory", "10.0.0.2"));
    }

    [Fact]
    public void A_client_retrying_a_dead_token_behind_a_shared_address_does_not_cost_the_others_there_their_renewals()
    {
        var limiter = new LoginRateLimiter(
            Options.Create(new AuthOptions { LoginAttemptsPerAddress = 3, RefreshFailuresPerAddress = 10, LoginRateWindow = TimeSpan.FromHours(1) }),
            TimeProvider.System);

        // One phone behind a carrier's NAT keeps offering a spent refresh token.
        for (var i = 0; i < 3; i++)
        {
            Assert.True(limiter.TryRefresh("stale-phone", "100.64.0.1"));
        }

        Assert.False(limiter.TryRefresh("stale-phone", "100.64.0.1"));

        // Alice, behind the same address, still renews.
        Assert.True(limiter.TryRefresh("alice", "100.64.0.1"));
        limiter.RefreshSucceeded("alice", "100.64.0.1");

        // Made-up tokens naming user after user are still bounded for the address: each activates an account grain.
        var taken = Enumerable.Range(0, 20).Count(i => limiter.TryRefresh($"guess{i}", "100.64.0.1"));
        Assert.Equal(10 - 3, taken);
        Assert.False(limiter.TryRefresh("alice", "100.64.0.1"));
        Assert.True(limiter.TryRefresh("alice", "100.64.0.2"));
    }
}
