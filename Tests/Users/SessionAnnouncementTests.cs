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
        var userId = Ids.User("announce");
        var account = fixture.Client.GetGrain<IAccountGrain>(userId);
        Assert.Equal(Messages.AccessStatus.Ok, await account.CreateAsync(new NewAccount("Alice", "hash", [AccountRole.User])));
        string[] sessions = ["web", "phone", "tablet"];
        foreach (var device in sessions)
        {
            var now = DateTimeOffset.UtcNow;
            Assert.True(await account.StartSessionAsync(new LoginSession(device, device, "test", "refresh-" + device, now.AddDays(1), now)));
        }

        var heard = new ConcurrentQueue<SessionRevoked>();
        var subscription = await fixture.Client.GetStreamProvider(StreamNames.Provider).GetStream<SessionRevoked>(Revocations)
            .SubscribeAsync((revoked, _) =>
            {
                if (revoked.UserId == userId)
                {
                    heard.Enqueue(revoked);
                }

                return Task.CompletedTask;
            });
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
                await Task.Delay(TimeSpan.FromSeconds(1.5));
            }
            finally
            {
                refused = fixture.StreamFaults.Heal(Revocations);
            }

            Assert.True(refused >= 2, "the grain tried to announce, and retried");

            var announced = await Eventually.ReturnsAsync(
                () => Task.FromResult(heard.Select(r => r.SessionId).ToList()),
                ids => ids.Count >= 3,
                TimeSpan.FromSeconds(45));
            Assert.Equal(["phone", "tablet", "web"], announced);
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }
}
