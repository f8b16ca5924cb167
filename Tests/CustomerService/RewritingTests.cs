using System.Text.Json;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.CustomerService;

[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class RewritingTests(CustomerServiceClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task The_user_sees_the_shop_never_the_agent_while_the_agent_and_the_log_know_who_wrote()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        var conversation = shop.Conversation(user);
        await using var userPhone = await DeviceProbe.ConnectAsync(Client, user, "phone");

        await shop.UserSaysAsync(user, "is my order shipped?");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));
        var reply = await shop.AgentSaysAsync(agent, user, "yes, this morning");
        Assert.Equal(SendStatus.Sent, reply.Status);

        // Pushed to the user: from the shop, no agent id or device anywhere in it.
        var pushed = await userPhone.WaitForAsync<MessageEvent>(e => e.Message.Seq == reply.Seq);
        Assert.Equal(shop.Id, pushed.Message.SenderId);
        Assert.Null(pushed.Message.ActingSenderId);
        Assert.Null(pushed.Message.SenderDeviceId);

        // Pulled by the user: the same, for every message of the conversation.
        var userView = await Client.PullAllAsync(conversation, user);
        Assert.Contains(userView, m => m.Seq == reply.Seq && m.SenderId == shop.Id && m.Content?.Text == "yes, this morning");
        Assert.DoesNotContain(agent, JsonSerializer.Serialize(userView), StringComparison.Ordinal);
        Assert.DoesNotContain(agent, JsonSerializer.Serialize(userPhone.Events.Select(e => e.ToString())), StringComparison.Ordinal);
        var entry = await Client.GetGrain<Orleans.Im.Users.IUserGrain>(user).GetConversationAsync(conversation);
        Assert.DoesNotContain(agent, JsonSerializer.Serialize(entry), StringComparison.Ordinal);

        // The agent sees the user's message as the user's, in the shop's conversation, and who wrote the reply.
        var agentView = await Client.PullAllAsync(conversation, agent);
        Assert.Contains(agentView, m => m.SenderId == user && m.Content?.Text == "is my order shipped?");
        Assert.Contains(agentView, m => m.Seq == reply.Seq && m.SenderId == shop.Id && m.ActingSenderId == agent);

        // The log keeps the real sender for audit.
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT sender_id, acting_sender_id FROM messages WHERE conversation_id = @c AND seq = @s");
        command.Parameters.AddWithValue("c", conversation);
        command.Parameters.AddWithValue("s", reply.Seq);
        await using var reader = await command.ExecuteReaderAsync();
        Assert.True(await reader.ReadAsync());
        Assert.Equal((shop.Id, agent), (reader.GetString(0), reader.GetString(1)));
    }

    [Fact]
    public async Task The_agents_name_is_shown_to_the_user_only_when_the_shop_says_so()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(ShowAgentName: true));
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hi");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));
        var reply = await shop.AgentSaysAsync(agent, user, "hi, Agent 1 here");

        var seen = (await Client.PullAllAsync(shop.Conversation(user), user)).Single(m => m.Seq == reply.Seq);
        Assert.Equal((shop.Id, "Agent 1", (string?)null), (seen.SenderId, seen.SenderName, seen.ActingSenderId));
        Assert.Contains("Agent 1", (await shop.NoticesAsync(user, CustomerServiceNotices.Assigned))[0].Content!.Text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_agent_of_one_shop_never_reaches_another_shops_sessions()
    {
        await using var shopA = await Shop.CreateAsync(Client, 1);
        await using var shopB = await Shop.CreateAsync(Client, 1);
        var (agentA, agentB) = (shopA.Agents[0], shopB.Agents[0]);
        await shopA.OnlineAsync(agentA);
        await shopB.OnlineAsync(agentB);
        var user = Ids.User("user");
        await shopB.UserSaysAsync(user, "question for shop B");
        await shopB.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agentB));

        var otherConversation = shopB.Conversation(user);
        Assert.Equal(AccessStatus.NoAccess, (await Client.Conversation(otherConversation).PullAsync(agentA, new PullRequest())).Status);
        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(otherConversation, agentA, "I am from shop A")).Status);
        Assert.Equal(AccessStatus.NoAccess, await shopB.Queue.SetAgentAvailableAsync(agentA, true));
        Assert.Null(await shopB.Queue.GetAgentViewAsync(agentA));
        Assert.Equal(AccessStatus.NoAccess, await shopB.Queue.CloseAsync(agentA, user));
        Assert.Equal(AccessStatus.NoAccess, await shopB.Queue.TransferAsync(agentA, user, null));
        Assert.Equal(AccessStatus.NotAllowed, await shopB.Queue.TransferAsync(agentB, user, agentA));
        Assert.Empty((await shopA.Queue.GetAgentViewAsync(agentA))!.Sessions);
        Assert.Empty((await shopA.Queue.GetSnapshotAsync()).Sessions);

        // Another user cannot read or write in someone else's customer-service conversation either.
        var stranger = Ids.User("stranger");
        Assert.Equal(AccessStatus.NoAccess, (await Client.Conversation(otherConversation).PullAsync(stranger, new PullRequest())).Status);
    }
}
