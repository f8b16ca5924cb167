using System.Text.Json;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>
/// What the queue learns one-way (presence, the agent list) can be lost or arrive stale; its tick asks again and
/// repairs it. Stale notices are sent from the test client: while no session is open the reminder does not run, so
/// the stale state is there to see until a session starts the ticks. Also: what keeps the queue's state bounded, and
/// a session handed back by the only agent.
/// </summary>
[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class RepairTests(CustomerServiceClusterFixture fixture)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task An_agent_whose_offline_notice_was_lost_is_found_offline_by_the_tick_and_loses_the_session()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        await shop.DisconnectAsync(agent);
        await shop.SnapshotWhenAsync(s => !s.Agents.Single().PresenceOnline);

        // A stale "online" (as if the user grain's offline notice were lost): the agent has no device.
        await shop.Queue.OnAgentPresenceAsync(agent, true);
        await shop.SnapshotWhenAsync(s => s.Agents.Single().PresenceOnline);

        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello?");
        var repaired = await shop.SnapshotWhenAsync(s => !s.Agents.Single().PresenceOnline && s.Waiting.SequenceEqual([user]), Patience);
        Assert.Null(Shop.AgentOf(repaired, user));
        Assert.Equal(SendStatus.NoAccess, (await shop.AgentSaysAsync(agent, user, "I am not really here")).Status);
    }

    [Fact]
    public async Task An_agent_removed_from_the_shop_whose_notice_arrived_stale_is_dropped_by_the_tick()
    {
        await using var shop = await Shop.CreateAsync(Client, 2);
        var (leaving, staying) = (shop.Agents[0], shop.Agents[1]);
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IAccountGrain>(shop.Id).SetAgentsAsync([staying]));
        await shop.SnapshotWhenAsync(s => s.Agents.All(a => a.AgentId != leaving));

        // The list from before the removal arrives late and puts the removed agent back.
        await shop.Queue.OnAgentsChangedAsync([leaving, staying]);
        await shop.SnapshotWhenAsync(s => s.Agents.Any(a => a.AgentId == leaving));
        await shop.OnlineAsync(leaving);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello");

        // The tick reads the list from the shop's account again: the agent goes, the session with them.
        var repaired = await shop.SnapshotWhenAsync(s => s.Agents.All(a => a.AgentId != leaving) && s.Waiting.SequenceEqual([user]), Patience);
        Assert.Equal([staying], repaired.Agents.Select(a => a.AgentId));
        Assert.Null(await shop.Queue.GetAgentViewAsync(leaving));
        Assert.Equal(SendStatus.NoAccess, (await shop.AgentSaysAsync(leaving, user, "still me")).Status);
    }

    [Fact]
    public async Task A_repeated_hand_over_to_the_same_agent_restores_the_agents_conversation_entry()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        var conversation = shop.Conversation(user);
        await shop.UserSaysAsync(user, "hello");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));
        var agentGrain = Client.GetGrain<IUserGrain>(agent);
        Assert.NotNull(await Eventually.ReturnsAsync(() => agentGrain.GetConversationAsync(conversation), e => e is not null));

        // A hand-over that saved the agent but failed before the agent's entry was added: the retry must add it.
        Assert.True(await agentGrain.RemoveConversationAsync(conversation));
        Assert.Null(await agentGrain.GetConversationAsync(conversation));
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IConversationGrain>(conversation).SetCustomerServiceAgentAsync(agent, null, 0));
        Assert.NotNull(await agentGrain.GetConversationAsync(conversation));
    }

    [Fact]
    public async Task A_session_handed_back_by_the_only_agent_goes_back_to_them_after_the_answer_timeout()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(AgentAnswerTimeout: Short));
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));

        Assert.Equal(AccessStatus.Ok, await shop.Queue.TransferAsync(agent, user, null));
        Assert.Equal([user], (await shop.Queue.GetSnapshotAsync()).Waiting);

        var back = await shop.SnapshotWhenAsync(s => s.Sessions.Single().AgentId == agent, Patience);
        Assert.Empty(back.Waiting);
    }

    [Fact]
    public async Task A_session_nobody_takes_is_closed_after_the_queued_timeout_without_a_rating_prompt()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(QueuedSessionTimeout: TimeSpan.Zero)));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(QueuedSessionTimeout: Short)));
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "anyone?");
        await shop.SnapshotWhenAsync(s => s.Waiting.SequenceEqual([user]));

        var closed = await shop.SnapshotWhenAsync(s => s.Sessions.Count == 0, Patience);
        Assert.Empty(closed.Waiting);
        Assert.Equal(0, closed.UnratedCount);
        var notice = Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));
        var data = JsonDocument.Parse(notice.Content!.CustomData!).RootElement;
        Assert.Equal(("unanswered", false), (data.GetProperty("reason").GetString(), data.GetProperty("rate").GetBoolean()));
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.RateAsync(user, 5));
    }

    [Fact]
    public async Task A_session_whose_only_agent_never_answers_is_closed_after_the_queued_timeout()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AgentAnswerTimeout: CustomerServiceLimits.MinTimeout, QueuedSessionTimeout: Short)));
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "anyone?");
        await shop.SnapshotWhenAsync(s => Shop.AgentOf(s, user) == agent);

        // The agent stays online and available and never answers; nobody else could take it. It does not stay for good.
        var closed = await shop.SnapshotWhenAsync(s => s.Sessions.Count == 0, Patience);
        Assert.Equal(0, closed.Agents.Single().Load);
        var notice = Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));
        Assert.Equal("unanswered", JsonDocument.Parse(notice.Content!.CustomData!).RootElement.GetProperty("reason").GetString());
    }

    [Fact]
    public async Task An_agent_whose_answer_the_queue_did_not_hear_keeps_the_customer()
    {
        var (shop, user, answering) = await CustomerWithOneOfTwoAgentsAsync();
        await using var _ = shop;

        // The agent answers while the queue's database is out: the queue's one-way notice of the answer fails with its
        // write (and the queue's activation goes, so its memory does not have it either).
        var queue = shop.Queue.GetGrainId();
        fixture.StorageFaults.Fail(queue);
        try
        {
            Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(answering, user, "hi, I am here")).Status);
            await Eventually.UntilAsync(() => Task.FromResult(fixture.StorageFaults.Refused(queue)), refused => refused > 0, Patience);
        }
        finally
        {
            fixture.StorageFaults.Heal(queue);
        }

        // Past the answer timeout the queue finds the answer in the conversation. Before, it passed the customer to the
        // other agent as unanswered, mid-conversation.
        var repaired = await shop.SnapshotWhenAsync(s => s.Sessions.Single(x => x.UserId == user).AwaitingAnswerSince is null, Patience);
        Assert.Equal(answering, Shop.AgentOf(repaired, user));
        await Task.Delay(TimeSpan.FromSeconds(3));
        Assert.Equal(answering, Shop.AgentOf(await shop.Queue.GetSnapshotAsync(), user));
    }

    [Fact]
    public async Task A_customer_message_the_queue_hears_only_after_the_agents_answer_to_it_does_not_pass_the_customer_on()
    {
        var (shop, user, answering) = await CustomerWithOneOfTwoAgentsAsync();
        await using var _ = shop;
        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(answering, user, "hi, how can I help?")).Status);

        // The customer's next message reaches the queue while its database is out: the notice is lost with the write,
        // and the conversation tells it again every few seconds. The agent answers it meanwhile, and that is heard.
        var queue = shop.Queue.GetGrainId();
        fixture.StorageFaults.Fail(queue);
        try
        {
            await shop.UserSaysAsync(user, "where is my parcel?");
            Assert.True(await Eventually.ReturnsAsync(() => Task.FromResult(fixture.StorageFaults.Refused(queue)), refused => refused > 0, Patience) > 0);
        }
        finally
        {
            fixture.StorageFaults.Heal(queue);
        }

        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(answering, user, "it ships today")).Status);

        // The retell comes within 5 s; past it and the answer timeout, the customer is still with the agent who answered,
        // not awaiting an answer. Before, the retell started the answer clock, and the other agent got the customer.
        for (var second = 0; second < 10; second++)
        {
            await Task.Delay(TimeSpan.FromSeconds(1));
            var session = (await shop.Queue.GetSnapshotAsync()).Sessions.Single(x => x.UserId == user);
            Assert.Equal(answering, session.AgentId);
            Assert.Null(session.AwaitingAnswerSince);
        }
    }

    /// <summary>A shop of two online agents (answer timeout 2 s), and a customer whose session one of them has.</summary>
    private async Task<(Shop Shop, string User, string Answering)> CustomerWithOneOfTwoAgentsAsync()
    {
        var shop = await Shop.CreateAsync(Client, 2);
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AgentAnswerTimeout: TimeSpan.FromSeconds(2))));
        foreach (var agent in shop.Agents)
        {
            await shop.OnlineAsync(agent);
        }

        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello?");
        var answering = Shop.AgentOf(await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.AgentId is not null)), user)!;
        return (shop, user, answering);
    }

    [Fact]
    public async Task Asking_a_shop_that_does_not_exist_stores_nothing()
    {
        // Any signed-in user may name any shop id (the agent view, a rating): a queue is activated to answer, and must not
        // leave a stored row behind for an id nobody registered.
        var shopId = Ids.User("no-such-shop");
        var queue = Client.GetGrain<ICustomerServiceQueueGrain>(shopId);
        Assert.Null(await queue.GetAgentViewAsync(Ids.User("curious")));
        Assert.Equal(AccessStatus.NotFound, await queue.RateAsync(Ids.User("curious"), 5));
        Assert.Equal(AccessStatus.NoAccess, await queue.SetAgentAvailableAsync(Ids.User("curious"), true));

        await using var rows = fixture.DataSource.CreateCommand("SELECT count(*) FROM orleans_storage WHERE grain_id_ext = $1");
        rows.Parameters.AddWithValue(shopId);
        Assert.Equal(0L, (long)(await rows.ExecuteScalarAsync())!);
    }

    [Fact]
    public async Task An_unrated_session_is_forgotten_after_the_rating_window()
    {
        await using var cluster = await CustomerServiceClusterFixture.StartAsync(fixture.DataSource, TestServices.NewClusterId("cs-rating"),
            o => o.RatingWindow = Short);
        await using var shop = await Shop.CreateAsync(cluster.Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.CloseAsync(agent, user));
        Assert.Equal(1, (await shop.Queue.GetSnapshotAsync()).UnratedCount);

        // Past the window it no longer counts, and cannot be rated (no reminder is kept ticking for it).
        await shop.SnapshotWhenAsync(s => s.UnratedCount == 0, Patience);
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.RateAsync(user, 5));
    }
}
