using System.Net;
using System.Text.Json;
using Orleans.Im.Accounts;
using Orleans.Im.Client;
using Orleans.Im.CustomerService;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>Customer service end to end: three users and two agents, each an SDK client on a real TCP connection to a real edge host.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class CustomerServiceEdgeTests(EdgeFixture fixture)
{
    [Fact]
    public async Task Three_users_and_two_agents_over_tcp_get_the_expected_assignments_and_messages()
    {
        var (shop, agent1, agent2) = (Ids.User("shop"), Ids.User("agent1"), Ids.User("agent2"));
        await fixture.CreateAccountAsync(agent1, AccountRole.Agent);
        await fixture.CreateAccountAsync(agent2, AccountRole.Agent);
        using (var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent1, agent2])))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using (var set = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/shops/{shop}/customer-service/settings", new CustomerServiceSettings(MaxSessionsPerAgent: 1)))
        {
            Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
        }

        var users = new[] { Ids.User("user1"), Ids.User("user2"), Ids.User("user3") };
        await using var console1 = await fixture.ConnectAsync(agent1, "console");
        await using var console2 = await fixture.ConnectAsync(agent2, "console");
        await using var phone1 = await fixture.ConnectAsync(users[0]);
        await using var phone2 = await fixture.ConnectAsync(users[1]);
        await using var phone3 = await fixture.ConnectAsync(users[2]);
        await console1.SetAgentAvailableAsync(shop, true);
        await console2.SetAgentAvailableAsync(shop, true);
        var conversations = users.Select(u => GrainKeys.CustomerService(shop, u)).ToArray();

        // user1 → agent1 (both free, agent1 idle longer); user2 → agent2; user3 waits, first in line.
        await phone1.SendTextAsync(conversations[0], "hi, user1 here");
        await WaitForViewAsync(console1, shop, v => v.Sessions.Count == 1);
        await phone2.SendTextAsync(conversations[1], "hi, user2 here");
        await WaitForViewAsync(console2, shop, v => v.Sessions.Count == 1);
        await phone3.SendTextAsync(conversations[2], "hi, user3 here");
        var queued = await WaitForViewAsync(console1, shop, v => v.QueueLength == 1);
        Assert.Equal(conversations[0], Assert.Single(queued.Sessions).ConversationId);
        Assert.Equal(conversations[1], Assert.Single((await console2.GetAgentViewAsync(shop)).Sessions).ConversationId);
        var position = await NextAsync(phone3, m => m.Content?.CustomType == CustomerServiceNotices.Queued);
        Assert.Equal("""{"position":1}""", position.Content.CustomData);

        // Each agent gets their user's message as the user's.
        var atAgent1 = await NextAsync(console1, m => m.ConversationId == conversations[0] && m.SenderId == users[0]);
        Assert.Equal("hi, user1 here", atAgent1.Content.Text);
        var atAgent2 = await NextAsync(console2, m => m.ConversationId == conversations[1] && m.SenderId == users[1]);
        Assert.Equal("hi, user2 here", atAgent2.Content.Text);

        // The agents answer; each user sees the shop, never the agent.
        await console1.SendTextAsync(conversations[0], "agent answering user1");
        await console2.SendTextAsync(conversations[1], "agent answering user2");
        foreach (var (phone, conversation, text) in new[] { (phone1, conversations[0], "agent answering user1"), (phone2, conversations[1], "agent answering user2") })
        {
            var answer = await NextAsync(phone, m => m.ConversationId == conversation && m.Content?.Text == text);
            Assert.Equal((shop, "", ""), (answer.SenderId, answer.ActingSenderId, answer.SenderDeviceId));
            var history = await phone.PullAsync(conversation, 0, limit: 50);
            Assert.DoesNotContain(history.Messages, m => m.SenderId == agent1 || m.SenderId == agent2 || m.ActingSenderId.Length > 0);
        }

        // agent1 closes user1's session, the one on the console, by its id (another id is not this session): user1 is
        // told, and user3 moves from the queue to agent1, who reads the history.
        var stale = await Assert.ThrowsAsync<ImClientException>(() => console1.CloseSessionAsync(shop, users[0], "an-earlier-one"));
        Assert.Equal(V1.ErrorCode.NotFound, stale.Error?.Code);
        await console1.CloseSessionAsync(shop, users[0], queued.Sessions[0].SessionId);
        await NextAsync(phone1, m => m.Content?.CustomType == CustomerServiceNotices.Closed);
        var moved = await WaitForViewAsync(console1, shop, v => v.Sessions.Count == 1 && v.Sessions[0].UserId == users[2]);
        Assert.Equal(0u, moved.QueueLength);
        var earlier = await console1.PullAsync(conversations[2], 0, limit: 50);
        Assert.Contains(earlier.Messages, m => m.SenderId == users[2] && m.Content?.Text == "hi, user3 here");
        await console1.SendTextAsync(conversations[2], "sorry for the wait, user3");
        Assert.Equal(shop, (await NextAsync(phone3, m => m.Content?.Text == "sorry for the wait, user3")).SenderId);

        // agent1 no longer reaches user1's conversation; user1 rates the closed session.
        var refused = await Assert.ThrowsAsync<ImClientException>(() => console1.PullAsync(conversations[0], 0));
        Assert.Equal(V1.ErrorCode.NotFound, refused.Error?.Code);
        await phone1.RateSessionAsync(shop, 5);
        var rated = await Assert.ThrowsAsync<ImClientException>(() => phone1.RateSessionAsync(shop, 5));
        Assert.Equal(V1.ErrorCode.NotFound, rated.Error?.Code);

        // agent2 hands user2 back to the queue: with agent1 full, user2 waits first in line.
        // (Named by another id, it is not this session; named by none, as older consoles do, it is the open one.)
        stale = await Assert.ThrowsAsync<ImClientException>(() => console2.TransferSessionAsync(shop, users[1], null, "an-earlier-one"));
        Assert.Equal(V1.ErrorCode.NotFound, stale.Error?.Code);
        await console2.TransferSessionAsync(shop, users[1], null);
        Assert.Equal(1u, (await WaitForViewAsync(console2, shop, v => v.Sessions.Count == 0 && v.QueueLength == 1)).QueueLength);

        using var snapshot = await fixture.AdminCallAsync(HttpMethod.Get, $"/api/admin/shops/{shop}/customer-service");
        Assert.Equal(HttpStatusCode.OK, snapshot.StatusCode);
        var body = await snapshot.Content.ReadAsStringAsync();
        Assert.Contains(users[1], body, StringComparison.Ordinal);
        Assert.Contains("\"score\":5", body, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_user_is_not_an_agent_and_gets_not_found_for_agent_operations()
    {
        var user = Ids.User("user");
        var shop = Ids.User("shop");
        await using var phone = await fixture.ConnectAsync(user);
        var refused = await Assert.ThrowsAsync<ImClientException>(() => phone.GetAgentViewAsync(shop));
        Assert.Equal(V1.ErrorCode.NotFound, refused.Error?.Code);
        refused = await Assert.ThrowsAsync<ImClientException>(() => phone.SetAgentAvailableAsync(shop, true));
        Assert.Equal(V1.ErrorCode.NotFound, refused.Error?.Code);
        refused = await Assert.ThrowsAsync<ImClientException>(() => phone.SetAgentAvailableAsync("not a valid id", true));
        Assert.Equal(V1.ErrorCode.NotFound, refused.Error?.Code);
    }

    [Fact]
    public async Task Agents_and_users_use_the_same_operations_over_the_http_api()
    {
        var (shop, agent) = (Ids.User("shop"), Ids.User("agent"));
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);
        var user = await fixture.NewUserAsync("user");
        using (var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent])))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        var agentToken = (await fixture.LoginAsync(agent)).AccessToken;
        var userToken = (await fixture.LoginAsync(user)).AccessToken;
        using var http = fixture.Http();
        await using var console = await fixture.ConnectAsync(agent, "console");
        using (var available = await http.CallAsync(HttpMethod.Put, $"/api/cs/{shop}/agent/available/true", agentToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, available.StatusCode);
        }

        using (var notAgent = await http.CallAsync(HttpMethod.Get, $"/api/cs/{shop}/agent", userToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, notAgent.StatusCode);
        }

        var conversation = GrainKeys.CustomerService(shop, user);
        using (var sent = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversation)}/messages", userToken,
            new SendBody("c1", new ContentBody(Orleans.Im.Messages.ContentType.Text, "hello over http"))))
        {
            Assert.True(sent.IsSuccessStatusCode, await sent.Content.ReadAsStringAsync());
        }

        var view = await Eventually.ReturnsAsync(async () =>
        {
            using var response = await http.CallAsync(HttpMethod.Get, $"/api/cs/{shop}/agent", agentToken);
            return await response.Content.ReadAsStringAsync();
        }, body => body.Contains(user, StringComparison.Ordinal));
        Assert.Contains("\"online\":true", view, StringComparison.Ordinal);

        // The agent answers; the user's history over HTTP (what web chat shows) names the shop, never the agent.
        await console.SendTextAsync(conversation, "answered over tcp");
        var history = await Eventually.ReturnsAsync(async () =>
        {
            using var response = await http.CallAsync(HttpMethod.Get, $"/api/conversations/{ApiCalls.Path(conversation)}/messages", userToken);
            return await response.Content.ReadAsStringAsync();
        }, body => body.Contains("answered over tcp", StringComparison.Ordinal));
        Assert.Contains("answered over tcp", history, StringComparison.Ordinal);
        Assert.DoesNotContain(agent, history, StringComparison.Ordinal);

        using (var early = await http.CallAsync(HttpMethod.Post, $"/api/cs/{shop}/rating", userToken, new RateBody(5)))
        {
            Assert.Equal(HttpStatusCode.NotFound, early.StatusCode);
        }

        // A close names the session the agent saw (the view's sessionId): another id is not this session.
        var sessionId = JsonDocument.Parse(view).RootElement.GetProperty("sessions")[0].GetProperty("sessionId").GetString();
        using (var stale = await http.CallAsync(HttpMethod.Post, $"/api/cs/{shop}/sessions/{user}/close?sessionId=an-earlier-one", agentToken))
        {
            Assert.Equal(HttpStatusCode.NotFound, stale.StatusCode);
        }

        using (var stale = await http.CallAsync(HttpMethod.Post, $"/api/cs/{shop}/sessions/{user}/transfer?sessionId=an-earlier-one", agentToken, new TransferBody(null)))
        {
            Assert.Equal(HttpStatusCode.NotFound, stale.StatusCode);
        }

        using (var closed = await http.CallAsync(HttpMethod.Post, $"/api/cs/{shop}/sessions/{user}/close?sessionId={sessionId}", agentToken))
        {
            Assert.Equal(HttpStatusCode.NoContent, closed.StatusCode);
        }

        using (var invalid = await http.CallAsync(HttpMethod.Post, $"/api/cs/{shop}/rating", userToken, new RateBody(9)))
        {
            Assert.Equal(HttpStatusCode.BadRequest, invalid.StatusCode);
        }

        using (var rated = await http.CallAsync(HttpMethod.Post, $"/api/cs/{shop}/rating", userToken, new RateBody(4)))
        {
            Assert.Equal(HttpStatusCode.NoContent, rated.StatusCode);
        }

        using var settings = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/shops/{shop}/customer-service/settings", new CustomerServiceSettings(MaxSessionsPerAgent: 0));
        Assert.Equal(HttpStatusCode.BadRequest, settings.StatusCode);
    }

    private static async Task<V1.CsAgentView> WaitForViewAsync(ImClient console, string shop, Func<V1.CsAgentView, bool> expected)
    {
        var view = await Eventually.ReturnsAsync(() => console.GetAgentViewAsync(shop), expected, TimeSpan.FromSeconds(20));
        Assert.True(expected(view), $"agent view not as expected: queue {view.QueueLength}, sessions {string.Join(", ", view.Sessions.Select(s => s.UserId))}");
        return view;
    }

    /// <summary>The next delivered message matching <paramref name="match"/>, skipping others; 20 s at most.</summary>
    private static Task<V1.Message> NextAsync(ImClient client, Func<V1.Message, bool> match) =>
        client.NextAsync(match, TimeSpan.FromSeconds(20));
}
