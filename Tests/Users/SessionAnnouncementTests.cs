using System.Collections.Concurrent;
using Orleans.Im.Accounts;
using Orleans.Im.Streams;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Streams;

namespace Orleans.Im.Tests.Users;

/// <summary>
/// Ended sessions are announced to every edge after they are stored. A broadcast that fails must neither fail the
/// change that was made nor lose the announcement.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class SessionAnnouncementTests(ClusterFixture fixture)
{
    private static readonly StreamId Revocations = StreamId.Create(StreamNames.AuthNamespace, StreamNames.RevocationsKey);

    [Fact]
    public async Task Sessions_ended_while_the_broadcast_fails_are_ended_at_once_and_announced_once_it_is_back()
    {
        var (userId, account) = await SignedInAsync("announce", "web", "phone", "tablet");

        var heard = new ConcurrentQueue<SessionRevoked>();
        var subscription = await SubscribeAsync(userId, heard);
        try
        {
            int refused;
            fixture.StreamFaults.Fail(Revocations);
            try
            {
                // "Sign out the others" answers as done: the sessions are gone from storage, whatever the broadcast does.
                Assert.Equal(2, await account.EndOtherSessionsAsync("web"));
                Assert.Equal(["web"], (await account.GetSessionsAsync()).Select(s => s.SessionId));
                Assert.False(await account.IsSessionLiveAsync("phone"));

                // A second change while the first announcements wait: it is stored too, and queued behind them.
                await account.EndSessionAsync("web");
                Assert.Empty(await account.GetSessionsAsync());

                // The grain retries on its own (the first retry 1 s after the failure), nobody calling it.
                await Eventually.UntilAsync(() => Task.FromResult(fixture.StreamFaults.Refused(Revocations)), n => n >= 2);
            }
            finally
            {
                refused = fixture.StreamFaults.Heal(Revocations);
            }

            Assert.True(refused >= 2, $"the grain tried to announce and retried on its own ({refused} refused)");

            var announced = await Eventually.ReturnsAsync(
                () => Task.FromResult(heard.Select(r => r.SessionId).ToList()),
                ids => ids.Count >= 3,
                TimeSpan.FromSeconds(45));
            // In order: the first change's sessions (in no particular order between them), then the second's.
            Assert.Equal(3, announced.Count);
            Assert.Equal(["phone", "tablet"], announced.Take(2).Order(StringComparer.Ordinal));
            Assert.Equal("web", announced[2]);
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task A_session_ended_by_an_activation_that_went_before_announcing_it_is_announced_by_the_next()
    {
        var (userId, account) = await SignedInAsync("reannounce", "phone");

        var heard = new ConcurrentQueue<SessionRevoked>();
        var subscription = await SubscribeAsync(userId, heard);
        try
        {
            fixture.StreamFaults.Fail(Revocations);
            try
            {
                await account.EndSessionAsync("phone");

                // Gone before the broadcast took it: its last try at deactivation is refused as well.
                await fixture.Cluster.DeactivateAsync(account);
            }
            finally
            {
                fixture.StreamFaults.Heal(Revocations);
            }

            Assert.Empty(heard);

            // Any call activates it again, and the new activation announces what the state remembers.
            Assert.Empty(await account.GetSessionsAsync());
            var announced = await Eventually.ReturnsAsync(() => Task.FromResult(heard.ToList()), r => r.Count > 0);
            Assert.Equal(["phone"], announced.Select(r => r.SessionId));
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task Ending_every_session_announces_every_session_and_each_of_them_by_id()
    {
        var (userId, account) = await SignedInAsync("endall", "web", "phone");

        var heard = new ConcurrentQueue<SessionRevoked>();
        var subscription = await SubscribeAsync(userId, heard);
        try
        {
            // A disabled account's connections close on every edge by the ids, whatever an edge's clock says about "before".
            Assert.True(await account.SetDisabledAsync(true));
            var announced = await Eventually.ReturnsAsync(() => Task.FromResult(heard.ToList()), r => r.Count >= 3);
            Assert.Null(announced[0].SessionId);
            Assert.Equal(["phone", "web"], announced.Skip(1).Select(r => r.SessionId).Order(StringComparer.Ordinal));
            Assert.Single(announced.Select(r => r.At).Distinct());
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task A_login_that_expired_is_announced_when_it_is_pruned()
    {
        // Its device stays connected past the login's expiry (open connections are not re-checked), and once the next
        // login prunes it from storage, no "sign out the others" could name it any more: the pruning announces it.
        var (userId, account) = await SignedInAsync("expired", "phone");
        var now = fixture.Time.GetUtcNow();
        Assert.True(await account.StartSessionAsync(new LoginSession("desktop", "desktop", "test", "refresh-desktop", now.AddMilliseconds(300), now)));
        await Task.Delay(TimeSpan.FromSeconds(1));

        var heard = new ConcurrentQueue<SessionRevoked>();
        var subscription = await SubscribeAsync(userId, heard);
        try
        {
            now = fixture.Time.GetUtcNow();
            Assert.True(await account.StartSessionAsync(new LoginSession("tablet", "tablet", "test", "refresh-tablet", now.AddDays(1), now)));
            Assert.Equal(["phone", "tablet"], (await account.GetSessionsAsync()).Select(s => s.SessionId).Order(StringComparer.Ordinal));

            var announced = await Eventually.ReturnsAsync(() => Task.FromResult(heard.ToList()), r => r.Count >= 1);
            Assert.Equal(["desktop"], announced.Select(r => r.SessionId));
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    /// <summary>A new account with a session per device, each session named after its device.</summary>
    private async Task<(string UserId, IAccountGrain Account)> SignedInAsync(string name, params string[] devices)
    {
        var userId = Ids.User(name);
        var account = fixture.Client.GetGrain<IAccountGrain>(userId);
        Assert.Equal(Messages.AccessStatus.Ok, await account.CreateAsync(new NewAccount(name, "hash", [AccountRole.User])));
        foreach (var device in devices)
        {
            // The silo's clock: other tests of the collection move it.
            var now = fixture.Time.GetUtcNow();
            Assert.True(await account.StartSessionAsync(new LoginSession(device, device, "test", "refresh-" + device, now.AddDays(1), now)));
        }

        return (userId, account);
    }

    private async Task<StreamSubscriptionHandle<SessionRevoked>> SubscribeAsync(string userId, ConcurrentQueue<SessionRevoked> heard) =>
        await fixture.Client.GetStreamProvider(StreamNames.Provider).GetStream<SessionRevoked>(Revocations)
            .SubscribeAsync((revoked, _) =>
            {
                if (revoked.UserId == userId)
                {
                    heard.Enqueue(revoked);
                }

                return Task.CompletedTask;
            });
}
