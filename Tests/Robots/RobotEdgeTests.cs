using Orleans.Im.Accounts;
using Orleans.Im.Client;
using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.RobotSamples.Shop;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Robots;

/// <summary>
/// The sample robots as real processes (Orleans clients of a real silo), and users as SDK clients on real TCP
/// connections to a real edge host.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class RobotEdgeTests(EdgeFixture fixture)
{
    private static readonly string[] EchoBot = ["echo-bot"];

    [Fact]
    public async Task A_user_gets_the_echo_over_tcp_and_after_a_robot_restart_what_came_meanwhile_is_answered_once()
    {
        var robot = Ids.User("echo-bot");
        await fixture.CreateAccountAsync(robot, AccountRole.Robot);
        var user = await fixture.NewUserAsync("alice");
        var conversation = GrainKeys.P2P(user, robot);
        await using var phone = await fixture.ConnectAsync(user);

        var (first, connection) = await RobotProcess.StartAsync(fixture, robot, EchoBot);
        await using (first)
        {
            await phone.SendTextAsync(conversation, "hello robot");
            Assert.Equal("hello robot", (await NextFromAsync(phone, conversation, robot)).Content.Text);

            // A crash: no chance to go offline or finish anything.
            await first.KillAsync();
        }

        // Sent while no robot runs: stored, waiting in the robot's unread.
        await phone.SendTextAsync(conversation, "are you there?");
        var (second, _) = await RobotProcess.StartAsync(fixture, robot, EchoBot, previousConnectionId: connection);
        await using (second)
        {
            Assert.Equal("are you there?", (await NextFromAsync(phone, conversation, robot)).Content.Text);
            await phone.SendTextAsync(conversation, "still working?");
            Assert.Equal("still working?", (await NextFromAsync(phone, conversation, robot)).Content.Text);

            // Each message answered exactly once, in order, and everything the user sent is read by the robot.
            var history = (await phone.PullAsync(conversation, 0, limit: 50)).Messages;
            Assert.Equal(["hello robot", "are you there?", "still working?"], history.Where(m => m.SenderId == robot).Select(m => m.Content.Text));
            var entry = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation),
                e => e?.UnreadCount == 0);
            Assert.Equal(0, entry?.UnreadCount);

            // Another robot writing to it gets no echo (two robots would never stop): the robot reads it and stays silent.
            var otherRobot = Ids.User("faq-bot");
            await fixture.CreateAccountAsync(otherRobot, AccountRole.Robot);
            var robots = GrainKeys.P2P(otherRobot, robot);
            var sent = await fixture.Orleans.GetGrain<IConversationGrain>(robots)
                .SendAsync(new SendRequest(otherRobot, "robot", Ids.ClientMsgId(), MessageContent.FromText("echo me")));
            Assert.Equal(SendStatus.Sent, sent.Status);
            var read = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(robots),
                e => e?.ReadSeq >= sent.Seq, TimeSpan.FromSeconds(30));
            Assert.True(read?.ReadSeq >= sent.Seq, "the robot did not get to the other robot's message");
            var between = await fixture.Orleans.GetGrain<IConversationGrain>(robots).PullAsync(otherRobot, new PullRequest());
            Assert.Equal([otherRobot], between.Messages.Select(m => m.SenderId));
        }
    }

    [Fact]
    public async Task A_shops_robot_answers_a_waiting_customer_as_the_shop_until_an_agent_comes_online()
    {
        var (shop, agent) = (Ids.User("shop"), Ids.User("agent"));
        var robot = Ids.User("shop-bot");
        await RobotTestHost.CreateShopWithRobotAsync(fixture, shop, agent, robot);

        var (process, _) = await RobotProcess.StartAsync(fixture, robot, ["shop-auto-reply", "--shop", shop]);
        await using (process)
        {
            var user = await fixture.NewUserAsync("customer");
            var conversation = GrainKeys.CustomerService(shop, user);
            await using var phone = await fixture.ConnectAsync(user);

            // No agent online: the robot answers, as the shop; the user never sees the robot's id.
            await phone.SendTextAsync(conversation, "is anyone there?");
            var answer = await NextAsync(phone, m => m.ConversationId == conversation && m.Content?.Text == ShopAutoReplyRobot.OfflineAnswer);
            Assert.Equal((shop, "", ""), (answer.SenderId, answer.ActingSenderId, answer.SenderDeviceId));
            var waiting = await fixture.Orleans.GetGrain<ICustomerServiceQueueGrain>(shop).GetSnapshotAsync();
            Assert.Equal(robot, Assert.Single(waiting.Sessions).RobotId);

            // An agent comes online: the session is theirs; the user's next message reaches the agent, and the robot stays silent.
            await using var console = await fixture.ConnectAsync(agent, "console");
            await console.SetAgentAvailableAsync(shop, true);
            var view = await Eventually.ReturnsAsync(() => console.GetAgentViewAsync(shop), v => v.Sessions.Count == 1, TimeSpan.FromSeconds(20));
            Assert.Equal(conversation, Assert.Single(view.Sessions).ConversationId);
            await phone.SendTextAsync(conversation, "I need a human");
            Assert.Equal(user, (await NextAsync(console, m => m.ConversationId == conversation && m.Content?.Text == "I need a human")).SenderId);
            await console.SendTextAsync(conversation, "a human here");
            Assert.Equal(shop, (await NextAsync(phone, m => m.ConversationId == conversation && m.Content?.Text == "a human here")).SenderId);

            var history = (await phone.PullAsync(conversation, 0, limit: 50)).Messages;
            Assert.Single(history, m => m.Content?.Text == ShopAutoReplyRobot.OfflineAnswer);
            Assert.Null(await fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation));

            // The agent goes offline: the session goes back to the queue and the robot covers it again. What the agent
            // answered is not answered again; the customer's next message is.
            await console.SetAgentAvailableAsync(shop, false);
            await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation),
                e => e is not null, TimeSpan.FromSeconds(20));
            await phone.SendTextAsync(conversation, "hello again?");
            var again = await NextAsync(phone, m => m.ConversationId == conversation && m.Content?.Text == ShopAutoReplyRobot.OfflineAnswer);
            var answers = (await phone.PullAsync(conversation, 0, limit: 50)).Messages
                .Where(m => m.Content?.Text is "is anyone there?" or "I need a human" or "a human here" or "hello again?" or ShopAutoReplyRobot.OfflineAnswer)
                .Select(m => m.Content.Text == ShopAutoReplyRobot.OfflineAnswer ? "robot" : m.Content.Text);
            Assert.Equal(["is anyone there?", "robot", "I need a human", "a human here", "hello again?", "robot"], answers);
            Assert.True(again.Seq > history[^1].Seq);
        }
    }

    private static Task<V1.Message> NextFromAsync(ImClient client, string conversationId, string senderId) =>
        NextAsync(client, m => m.ConversationId == conversationId && m.SenderId == senderId);

    /// <summary>The next delivered message matching <paramref name="match"/>, skipping others; 60 s at most.</summary>
    private static Task<V1.Message> NextAsync(ImClient client, Func<V1.Message, bool> match) =>
        client.NextAsync(match, TimeSpan.FromSeconds(60));
}
