using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>
/// The conversation tells the shop's queue of a user's message one-way (the queue calls the conversation, awaited, so the
/// two must not wait on each other). A tell the queue could not store is told again until the queue confirms it.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class LostTellTests(ClusterFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_users_message_the_queue_could_not_store_opens_the_session_once_the_queue_stores_again()
    {
        await using var shop = await Shop.CreateAsync(fixture.Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        await shop.SnapshotWhenAsync(s => s.Agents.Single().PresenceOnline);

        // The queue's database is out while the user writes: the message is stored in the conversation, the queue's
        // session is not.
        var queue = shop.Queue.GetGrainId();
        fixture.StorageFaults.Fail(queue);
        var user = Ids.User("user");
        try
        {
            Assert.Equal(SendStatus.Sent, (await shop.UserSaysAsync(user, "hello, anyone?")).Status);
            await Eventually.UntilAsync(() => Task.FromResult(fixture.StorageFaults.Refused(queue)), refused => refused > 0, Patience);
        }
        finally
        {
            fixture.StorageFaults.Heal(queue);
        }

        // Before, the user waited with no session (no agent, no auto-reply) until they wrote again.
        var assigned = await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.AgentId == agent), Patience);
        Assert.Equal(1, assigned.Sessions.Single(x => x.UserId == user).FirstSeq);
        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(agent, user, "hi, how can I help?")).Status);
    }
}
