using System.Text.Json;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>The two timeouts, with short settings on the test's own shop; the queue checks them every second.</summary>
[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class TimeoutTests(CustomerServiceClusterFixture fixture)
{
    private static readonly TimeSpan Short = TimeSpan.FromSeconds(2);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task An_agent_who_does_not_answer_in_time_loses_the_session_to_another_agent()
    {
        await using var shop = await Shop.CreateAsync(Client, 2, new CustomerServiceSettings(AgentAnswerTimeout: Short));
        var (slow, other) = (shop.Agents[0], shop.Agents[1]);
        await shop.OnlineAsync(slow);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "hello?");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == slow));
        await shop.OnlineAsync(other);

        var moved = await shop.SnapshotWhenAsync(s => s.Sessions.Single().AgentId == other, Patience);
        Assert.NotNull(moved.Sessions[0].AwaitingAnswerSince);

        // The session's answer clock starts again with the new agent: with the slow agent still available, a reply that
        // a loaded machine stores later than the short timeout would send it back. Nobody else to give it to, it stays.
        // (So the end of this test no longer tells an answer in time from a late one; the first half proved the timeout.)
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetAgentAvailableAsync(slow, false));
        Assert.Equal(SendStatus.NoAccess, (await shop.AgentSaysAsync(slow, user, "sorry, I was away")).Status);

        // The new agent answers in time: the session stays.
        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(other, user, "I am here")).Status);
        var answered = await shop.SnapshotWhenAsync(s => s.Sessions.Single().AwaitingAnswerSince is null);
        Assert.Equal(other, Shop.AgentOf(answered, user));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_session_handed_over_after_an_answer_waits_for_the_new_agent_and_is_not_closed_as_idle(bool backToTheQueue)
    {
        await using var shop = await Shop.CreateAsync(Client, 2, new CustomerServiceSettings(UserIdleTimeout: Short));
        // The first agent answers and hands the customer over (to billing, or back to the queue, which gives it to billing,
        // the only other agent online); the customer waits for billing, saying nothing.
        var (user, billing) = await AnsweredAndHandedOverAsync(shop, backToTheQueue);
        var handed = await shop.SnapshotWhenAsync(s => s.Sessions.Single().AgentId == billing);
        Assert.NotNull(handed.Sessions[0].AwaitingAnswerSince);

        // Past the idle timeout the session is still open, billing's to answer (the customer was not the one quiet).
        await Task.Delay(Short * 3);
        var waiting = await shop.Queue.GetSnapshotAsync();
        Assert.Equal(billing, Shop.AgentOf(waiting, user));
        Assert.Empty(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));
    }

    [Fact]
    public async Task A_handed_over_session_the_new_agent_leaves_unanswered_is_not_passed_round_but_closes_as_idle()
    {
        await using var shop = await Shop.CreateAsync(Client, 2, new CustomerServiceSettings(AgentAnswerTimeout: Short, UserIdleTimeout: Short * 3));
        var (user, billing) = await AnsweredAndHandedOverAsync(shop);

        // Billing says nothing, nor does the customer: the clock lapses without handing the customer back to the first
        // agent (who would hand them on again, for ever), and the quiet session closes as idle.
        var cleared = await shop.SnapshotWhenAsync(s => s.Sessions.Count == 0 || s.Sessions.Single().AwaitingAnswerSince is null, Patience);
        Assert.True(cleared.Sessions.Count == 0 || Shop.AgentOf(cleared, user) == billing);
        await shop.SnapshotWhenAsync(s => s.Sessions.Count == 0, Patience);
        var closed = Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));
        Assert.Equal("idle", JsonDocument.Parse(closed.Content!.CustomData!).RootElement.GetProperty("reason").GetString());
        // Told twice who they talk to (the first agent, billing), never a third time.
        Assert.Equal(2, (await shop.NoticesAsync(user, CustomerServiceNotices.Assigned)).Count);
    }

    /// <summary>
    /// A customer asks; the shop's first agent answers and transfers them to the second ("billing"), who is online. The
    /// customer and billing are answered.
    /// </summary>
    private static async Task<(string User, string Billing)> AnsweredAndHandedOverAsync(Shop shop, bool backToTheQueue = false)
    {
        var (first, billing) = (shop.Agents[0], shop.Agents[1]);
        await shop.OnlineAsync(first);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "my invoice is wrong");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == first));
        await shop.OnlineAsync(billing);
        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(first, user, "transferring you to billing")).Status);
        Assert.Equal(AccessStatus.Ok, await shop.Queue.TransferAsync(first, user, backToTheQueue ? null : billing));
        return (user, billing);
    }

    [Fact]
    public async Task A_user_who_goes_quiet_after_the_answer_has_the_session_closed_with_a_notice()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(UserIdleTimeout: Short));
        var agent = shop.Agents[0];
        await shop.OnlineAsync(agent);
        var user = Ids.User("user");
        await shop.UserSaysAsync(user, "quick question");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.AgentId == agent));
        await shop.AgentSaysAsync(agent, user, "sure, go ahead");

        await shop.SnapshotWhenAsync(s => s.Sessions.Count == 0, Patience);
        var notice = Assert.Single(await shop.NoticesAsync(user, CustomerServiceNotices.Closed));
        Assert.Equal("idle", JsonDocument.Parse(notice.Content!.CustomData!).RootElement.GetProperty("reason").GetString());
        Assert.Equal(AccessStatus.Ok, await shop.Queue.RateAsync(user, 3));
    }
}
