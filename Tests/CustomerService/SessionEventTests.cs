using System.Text.Json;
using Orleans.Im.Events;
using Orleans.Im.Firehose;
using Orleans.Im.Tests.Infrastructure;
using StackExchange.Redis;

namespace Orleans.Im.Tests.CustomerService;

[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class SessionEventTests(CustomerServiceClusterFixture fixture)
{
    [Fact]
    public async Task A_session_is_told_to_the_firehose_from_queued_to_rated()
    {
        await using var shop = await Shop.CreateAsync(fixture.Client, 1);
        var agent = shop.Agents[0];
        var user = Ids.User("user");
        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);
        await using var recorder = new FirehoseRecorder(redis, new FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c", Classes = [EventClass.CustomerService] },
            e => e.ConversationId == shop.Conversation(user));
        await recorder.CreateGroupAsync();
        recorder.Start();

        await shop.UserSaysAsync(user, "hello?");
        await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        await shop.OnlineAsync(agent);
        await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0);
        Assert.Equal(Messages.AccessStatus.Ok, await shop.Queue.CloseAsync(agent, user));
        Assert.Equal(Messages.AccessStatus.Ok, await shop.Queue.RateAsync(user, 5));

        var events = await recorder.WaitForAsync(k => k.Count >= 4);
        Assert.Equal(["cs.queued", "cs.assigned", "cs.closed", "cs.rated"], events.Select(e => e.Type));
        var bodies = events.Select(e => JsonSerializer.Deserialize<CustomerServiceEventData>(e.Data, EventJson.Options)!).ToList();
        Assert.Single(bodies.Select(b => b.SessionId).Distinct());
        Assert.All(bodies, b => Assert.Equal((shop.Id, user), (b.ShopId, b.CustomerId)));
        Assert.Equal((1, (string?)null), (bodies[0].Position, bodies[0].AgentId));
        Assert.Equal(agent, bodies[1].AgentId);
        Assert.Equal(("agent", agent), (bodies[2].Reason, bodies[2].AgentId));
        Assert.Equal(5, bodies[3].Score);
    }
}
