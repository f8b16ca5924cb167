using System.Text.Json;
using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.CustomerService;

[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class QueueRoutingTests(CustomerServiceClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Only_a_shop_account_is_a_shop_no_user_writes_to_another_as_one_nor_opens_a_queue_for_one()
    {
        var (mallory, victim) = (Ids.User("mallory"), Ids.User("victim"));
        await Client.GetGrain<Orleans.Im.Accounts.IAccountGrain>(mallory).CreateAsync(new Orleans.Im.Accounts.NewAccount("Mallory", null, [Orleans.Im.Accounts.AccountRole.User]));
        var fake = GrainKeys.CustomerService(mallory, victim);

        // Mallory, a plain user, cannot put herself in the victim's list as a shop (past the victim's blocks) ...
        var pushed = await Client.GetGrain<IConversationGrain>(fake).SendAsync(new SendRequest(mallory, "phone", Ids.ClientMsgId(), MessageContent.FromText("your parcel is held, pay here")));
        Assert.Equal(SendStatus.NoAccess, pushed.Status);
        Assert.Null(await Client.GetGrain<Orleans.Im.Users.IUserGrain>(victim).GetConversationAsync(fake));

        // ... nor does a user's message to a "shop" that is none start a queue with notices from it.
        var asked = await Client.GetGrain<IConversationGrain>(GrainKeys.CustomerService(Ids.User("no-shop"), victim))
            .SendAsync(new SendRequest(victim, "phone", Ids.ClientMsgId(), MessageContent.FromText("hello?")));
        Assert.Equal(SendStatus.NoAccess, asked.Status);

        // A real shop takes its customers.
        await using var shop = await Shop.CreateAsync(Client, agentCount: 1);
        var real = await Client.GetGrain<IConversationGrain>(shop.Conversation(victim))
            .SendAsync(new SendRequest(victim, "phone", Ids.ClientMsgId(), MessageContent.FromText("hello shop")));
        Assert.Equal(SendStatus.Sent, real.Status);
    }

    [Fact]
    public async Task An_agent_writing_to_their_own_shop_is_never_routed_to_themselves()
    {
        await using var shop = await Shop.CreateAsync(Client, 2);
        var (trying, other) = (shop.Agents[0], shop.Agents[1]);
        await shop.OnlineAsync(trying);

        // The only online agent tries their shop as a customer: nobody else can take it, so it waits.
        Assert.Equal(SendStatus.Sent, (await shop.UserSaysAsync(trying, "does the chat work?")).Status);
        var waiting = await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == trying));
        Assert.Null(Shop.AgentOf(waiting, trying));

        // Another agent comes online and takes it; nobody can hand it to its own customer.
        await shop.OnlineAsync(other);
        var taken = await shop.SnapshotWhenAsync(s => Shop.AgentOf(s, trying) is not null);
        Assert.Equal(other, Shop.AgentOf(taken, trying));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.TransferAsync(other, trying, trying));
    }

    [Fact]
    public async Task Sessions_go_to_the_least_loaded_online_agent_and_ties_to_the_one_idle_longest()
    {
        await using var shop = await Shop.CreateAsync(Client, 3);
        var (a1, a2, offline) = (shop.Agents[0], shop.Agents[1], shop.Agents[2]);
        await shop.OnlineAsync(a1);
        await shop.OnlineAsync(a2);
        var users = Enumerable.Range(1, 4).Select(i => Ids.User($"user{i}")).ToArray();

        // One at a time, so that each decision sees the previous one.
        var expected = new[] { a1, a2, a1, a2 };
        for (var i = 0; i < users.Length; i++)
        {
            Assert.Equal(SendStatus.Sent, (await shop.UserSaysAsync(users[i], $"hello {i}")).Status);
            var snapshot = await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == users[i] && x.AgentId is not null));
            // Equal load goes to the agent idle longest: a1 came online first, then each assignment makes an agent the
            // most recently busy.
            Assert.Equal(expected[i], Shop.AgentOf(snapshot, users[i]));
        }

        var final = await shop.Queue.GetSnapshotAsync();
        Assert.Equal([2, 2, 0], final.Agents.OrderBy(a => Array.IndexOf(shop.Agents, a.AgentId)).Select(a => a.Load));
        Assert.DoesNotContain(final.Sessions, s => s.AgentId == offline);
        Assert.Empty(final.Waiting);

        // The agent's console shows its own sessions, nobody else's.
        var view = await shop.Queue.GetAgentViewAsync(a1);
        Assert.NotNull(view);
        Assert.Equal([users[0], users[2]], view.Sessions.Select(s => s.UserId));
        Assert.True(view.Online);
    }

    [Fact]
    public async Task Without_room_users_wait_in_FIFO_order_and_are_told_their_position_as_it_moves()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(MaxSessionsPerAgent: 1));
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var users = Enumerable.Range(1, 3).Select(i => Ids.User($"user{i}")).ToArray();
        foreach (var user in users)
        {
            await shop.UserSaysAsync(user, "anyone there?");
            await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user));
        }

        var queued = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 2);
        Assert.Equal(agent, Shop.AgentOf(queued, users[0]));
        Assert.Equal([users[1], users[2]], queued.Waiting);
        Assert.Equal([1, 2], queued.Waiting.Select(u => queued.Sessions.Single(s => s.UserId == u).QueuePosition));
        Assert.Equal(1, await LatestPositionAsync(shop, users[1]));
        Assert.Equal(2, await LatestPositionAsync(shop, users[2]));

        // The head moves up when the agent closes the first session; the last one is told its new place.
        Assert.Equal(AccessStatus.Ok, await shop.Queue.CloseAsync(agent, users[0]));
        var moved = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        Assert.Equal(agent, Shop.AgentOf(moved, users[1]));
        Assert.Equal([users[2]], moved.Waiting);
        Assert.Equal(1, await LatestPositionAsync(shop, users[2]));

        // Earlier position notices collapse: an offline user pulls only the latest.
        var positions = await shop.NoticesAsync(users[2], CustomerServiceNotices.Queued);
        Assert.Single(positions);
        Assert.Single(await shop.NoticesAsync(users[1], CustomerServiceNotices.Assigned));

        // Handed to the agent, the last user's conversation counts as unread what there is to read since they asked: not
        // the position notices that the later ones superseded while they waited.
        Assert.Equal(AccessStatus.Ok, await shop.Queue.CloseAsync(agent, users[1]));
        await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0);
        Assert.Single(await Eventually.ReturnsAsync(() => shop.NoticesAsync(users[2], CustomerServiceNotices.Assigned), n => n.Count > 0));
        var conversationId = shop.Conversation(users[2]);
        var log = await Client.PullAllAsync(conversationId, users[2]);
        var first = log.First(m => m.SenderId == users[2]).Seq;
        Assert.Contains(log, m => m.Seq > first && m.State == MessageState.Collapsed);
        var toRead = log.Count(m => m.Seq >= first && m.State is MessageState.Normal or MessageState.Edited);
        var entry = await Eventually.ReturnsAsync(() => Client.GetGrain<Orleans.Im.Users.IUserGrain>(agent).GetConversationAsync(conversationId),
            e => e is not null && e.LastSeq == log[^1].Seq && e.UnreadCount == toRead);
        Assert.Equal((log[^1].Seq, (long)toRead), (entry?.LastSeq, entry?.UnreadCount));
    }

    [Fact]
    public async Task With_no_agent_online_the_user_gets_the_auto_reply_and_stays_queued_until_one_comes()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(AutoReplyText: "We are closed; back at nine."));
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello?");

        var waiting = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        Assert.Equal([user], waiting.Waiting);
        var autoReply = Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.AutoReply));
        Assert.Equal("We are closed; back at nine.", autoReply.Content!.Text);
        Assert.Equal(shop.Id, autoReply.SenderId);

        await shop.OnlineAsync(shop.Agents[0]);
        var served = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0);
        Assert.Equal(shop.Agents[0], Shop.AgentOf(served, user));
    }

    [Fact]
    public async Task Settings_change_at_runtime_and_more_room_takes_users_off_the_queue()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(MaxSessionsPerAgent: 1));
        await shop.OnlineAsync(shop.Agents[0]);
        var users = new[] { Ids.User("user1"), Ids.User("user2") };
        foreach (var user in users)
        {
            await shop.UserSaysAsync(user, "hi");
            await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user));
        }

        await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(MaxSessionsPerAgent: 0)));
        // Nor a reply text no notice could carry, nor timeouts past the silo's own bounds.
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyText: "back\u0000soon")));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(UserIdleTimeout: TimeSpan.FromDays(8))));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AgentAnswerTimeout: TimeSpan.FromDays(2))));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(QueuedSessionTimeout: TimeSpan.FromDays(31))));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(MaxSessionsPerAgent: 2, ShowAgentName: true)));
        var after = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0);
        Assert.All(after.Sessions, s => Assert.Equal(shop.Agents[0], s.AgentId));
        Assert.Equal((2, true), ((await shop.Queue.GetSettingsAsync()).MaxSessionsPerAgent, (await shop.Queue.GetSettingsAsync()).ShowAgentName));
    }

    [Fact]
    public async Task An_agent_with_a_maximum_of_their_own_takes_no_more_than_it()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(MaxSessionsPerAgent: 5));
        var agent = shop.Agents[0];
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetAgentMaxSessionsAsync(agent, 0));
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.SetAgentMaxSessionsAsync(Ids.User("stranger"), 1));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetAgentMaxSessionsAsync(agent, 1));
        await shop.OnlineAsync(agent);
        var users = new[] { Ids.User("user1"), Ids.User("user2") };
        foreach (var user in users)
        {
            await shop.UserSaysAsync(user, "hi");
            await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user));
        }

        var limited = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        Assert.Equal((1, 1), (limited.Agents[0].Load, limited.Agents[0].MaxSessions));
        Assert.Equal(1, (await shop.Queue.GetAgentViewAsync(agent))!.MaxSessions);

        // Back to the shop's maximum: the waiting user is taken at once.
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetAgentMaxSessionsAsync(agent, null));
        var served = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0);
        Assert.Equal((2, 5), (served.Agents[0].Load, served.Agents[0].MaxSessions));
    }

    [Fact]
    public async Task An_agent_removed_from_the_shop_hands_their_sessions_back_and_loses_access()
    {
        await using var shop = await Shop.CreateAsync(Client, 2);
        var (leaving, staying) = (shop.Agents[0], shop.Agents[1]);
        await shop.OnlineAsync(leaving);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == leaving));
        await shop.OnlineAsync(staying);

        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<Accounts.IAccountGrain>(shop.Id).SetAgentsAsync([staying]));
        var moved = await shop.SnapshotWhenAsync(s => s.Sessions.Single().AgentId == staying);
        Assert.DoesNotContain(moved.Agents, a => a.AgentId == leaving);
        Assert.Null(await shop.Queue.GetAgentViewAsync(leaving));
        Assert.Equal(SendStatus.NoAccess, (await shop.AgentSaysAsync(leaving, user, "still me")).Status);
    }

    private static async Task<int> LatestPositionAsync(Shop shop, string userId)
    {
        var notices = await Eventually.ReturnsAsync(() => shop.NoticesAsync(userId, CustomerServiceNotices.Queued), n => n.Count > 0);
        var data = JsonDocument.Parse(Assert.IsType<string>(notices[^1].Content!.CustomData));
        return data.RootElement.GetProperty("position").GetInt32();
    }
}
