using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.CustomerService;

[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class SessionHandlingTests(CustomerServiceClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task The_assigned_agent_sees_the_earlier_history_and_a_transfer_moves_access_with_the_session()
    {
        await using var shop = await Shop.CreateAsync(Client, 2);
        var (a1, a2) = (shop.Agents[0], shop.Agents[1]);
        var user = Ids.User("user");
        var conversation = shop.Conversation(user);

        // History from before any agent was online is there for whoever gets the session.
        await shop.UserSaysAsync(user, "first, while nobody is there");
        await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        await shop.OnlineAsync(a1);
        await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0);
        var seenByA1 = await Client.PullAllAsync(conversation, a1);
        Assert.Contains(seenByA1, m => m.Content?.Text == "first, while nobody is there" && m.SenderId == user);
        var a1Entry = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(a1).GetConversationAsync(conversation), e => e?.LastSeq > 0);
        Assert.NotNull(a1Entry);

        var hello = await shop.AgentSaysAsync(a1, user, "hello, how can I help?");
        Assert.Equal(SendStatus.Sent, hello.Status);
        // Stored in the shop's name, written by a1: a1 may correct it (the window allows), as any sender may.
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversation).EditAsync(a1, hello.Seq, MessageContent.FromText("hello, how can I help?")));
        var typo = await shop.AgentSaysAsync(a1, user, "wrong customer, sorry");
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversation).RecallAsync(a1, typo.Seq));

        // a2 is not online: a transfer to them is refused, and nothing changes.
        Assert.Equal(AccessStatus.NotAllowed, await shop.Queue.TransferAsync(a1, user, a2));
        await shop.OnlineAsync(a2);
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.TransferAsync(a2, user, a1));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.TransferAsync(a1, user, a2));

        var snapshot = await shop.Queue.GetSnapshotAsync();
        Assert.Equal(a2, Shop.AgentOf(snapshot, user));
        var seenByA2 = await Client.PullAllAsync(conversation, a2);
        Assert.Contains(seenByA2, m => m.Content?.Text == "hello, how can I help?" && m.ActingSenderId == a1);
        Assert.Equal(AccessStatus.NoAccess, (await Client.Conversation(conversation).PullAsync(a1, new PullRequest())).Status);
        Assert.Equal(SendStatus.NoAccess, (await shop.AgentSaysAsync(a1, user, "still here?")).Status);
        Assert.Null(await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(a1).GetConversationAsync(conversation), e => e is null));
        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(a2, user, "a colleague here")).Status);

        // Back to the queue: someone else takes it (a1, the only other agent online).
        Assert.Equal(AccessStatus.Ok, await shop.Queue.TransferAsync(a2, user, null));
        var requeued = await shop.SnapshotWhenAsync(s => s.Sessions.Single().AgentId == a1);
        Assert.Empty(requeued.Waiting);
    }

    [Fact]
    public async Task An_agent_going_offline_puts_their_sessions_back_at_the_head_of_the_queue()
    {
        await using var shop = await Shop.CreateAsync(Client, 2, new CustomerServiceSettings(MaxSessionsPerAgent: 2));
        var (a1, a2) = (shop.Agents[0], shop.Agents[1]);
        await shop.OnlineAsync(a1);
        var served = new[] { Ids.User("served1"), Ids.User("served2") };
        var waiting = Ids.User("waiting");
        foreach (var user in served.Append(waiting))
        {
            await shop.UserSaysAsync(user, "help");
            await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user));
        }

        await shop.SnapshotWhenAsync(s => s.Waiting.SequenceEqual([waiting]));

        // The console's connection drops and does not come back within the grace.
        await shop.DisconnectAsync(a1);
        var requeued = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 3);
        Assert.Equal([served[0], served[1], waiting], requeued.Waiting);
        Assert.False(requeued.Agents.Single(a => a.AgentId == a1).PresenceOnline);

        // The next agent takes them from the head.
        await shop.OnlineAsync(a2);
        var taken = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        Assert.Equal([waiting], taken.Waiting);
        Assert.All(served, u => Assert.Equal(a2, Shop.AgentOf(taken, u)));
    }

    [Fact]
    public async Task A_close_or_transfer_of_a_session_that_ended_does_not_reach_the_users_next_session_with_the_same_agent()
    {
        await using var shop = await Shop.CreateAsync(Client, 2);
        var (agent, other) = (shop.Agents[0], shop.Agents[1]);
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "first question");
        var first = (await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent))).Sessions.Single();

        // The session ends (here closed from another console of the agent; idle would do the same) and the user writes
        // again: a new session, which goes to the same agent, the only one online.
        Assert.Equal(AccessStatus.Ok, await shop.Queue.CloseAsync(agent, user, first.SessionId));
        await shop.UserSaysAsync(user, "second question");
        var second = (await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent))).Sessions.Single();
        Assert.NotEqual(first.SessionId, second.SessionId);

        // A console still showing the first session acts on it: nothing happens to the second.
        await shop.OnlineAsync(other);
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.CloseAsync(agent, user, first.SessionId));
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.TransferAsync(agent, user, other, first.SessionId));
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.TransferAsync(agent, user, null, first.SessionId));
        var still = (await shop.Queue.GetSnapshotAsync()).Sessions.Single();
        Assert.Equal((second.SessionId, agent), (still.SessionId, still.AgentId));
        Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));

        // By the id now shown, the agent acts on the second session.
        Assert.Equal(AccessStatus.Ok, await shop.Queue.TransferAsync(agent, user, other, second.SessionId));
        Assert.Equal(other, Shop.AgentOf(await shop.Queue.GetSnapshotAsync(), user));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.CloseAsync(other, user, second.SessionId));
        Assert.Empty((await shop.Queue.GetSnapshotAsync()).Sessions);
    }

    [Fact]
    public async Task After_the_agent_closes_the_session_the_user_rates_it_once_from_1_to_5()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "my parcel is late");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.RateAsync(user, 5));

        Assert.Equal(AccessStatus.NotFound, await shop.Queue.CloseAsync(agent, Ids.User("nobody")));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.CloseAsync(agent, user));
        var closed = Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));
        Assert.Contains("Rate us", closed.Content!.Text, StringComparison.Ordinal);
        Assert.Empty((await shop.Queue.GetSnapshotAsync()).Sessions);
        // The agent no longer reads or writes in the user's conversation.
        Assert.Equal(SendStatus.NoAccess, (await shop.AgentSaysAsync(agent, user, "one more thing")).Status);

        Assert.Equal(AccessStatus.Invalid, await shop.Queue.RateAsync(user, 6));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.RateAsync(user, 0));
        Assert.Equal(AccessStatus.Ok, await shop.Queue.RateAsync(user, 4));
        Assert.Equal(AccessStatus.NotFound, await shop.Queue.RateAsync(user, 5));

        var rating = Assert.Single((await shop.Queue.GetSnapshotAsync()).Ratings);
        Assert.Equal((user, agent, 4), (rating.UserId, rating.AgentId, rating.Score));
        Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Rated));

        // The user's next message opens a new session.
        await shop.UserSaysAsync(user, "another question");
        var reopened = await shop.SnapshotWhenAsync(s => s.Sessions.Count == 1 && s.Sessions[0].AgentId == agent);
        Assert.NotEqual(rating.SessionId, reopened.Sessions[0].SessionId);

        // The agent reads the whole history, but only this session's messages count as unread:
        // 1 question, 2 assigned, 3 closed, 4 rated, 5 another question, 6 assigned.
        Assert.Equal(5, reopened.Sessions[0].FirstSeq);
        var entry = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(agent).GetConversationAsync(shop.Conversation(user)), e => e?.LastSeq == 6);
        Assert.Equal((6L, 4L, 2L), (entry!.LastSeq, entry.ReadSeq, entry.UnreadCount));
        Assert.Equal(6, (await Client.PullAllAsync(shop.Conversation(user), agent)).Count);
    }

    [Fact]
    public async Task An_agent_whose_switch_to_offline_failed_stays_online_with_their_sessions()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello?");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.AgentId == agent));

        // The agent's own storage refuses the change of presence watching: the switch fails, and the agent is told so.
        var agentsGrain = Client.GetGrain<IUserGrain>(agent).GetGrainId();
        fixture.StorageFaults.Fail(agentsGrain);
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => shop.Queue.SetAgentAvailableAsync(agent, false));
        }
        finally
        {
            fixture.StorageFaults.Heal(agentsGrain);
        }

        // Nothing changed in the queue either: still available, the session still theirs (before, the queue held them
        // offline in memory, and its next check handed their sessions back to the queue).
        var after = await shop.Queue.GetSnapshotAsync();
        Assert.True(after.Agents.Single(a => a.AgentId == agent).Available);
        Assert.Equal(agent, Shop.AgentOf(after, user));
    }
}
