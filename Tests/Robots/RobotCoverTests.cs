using Microsoft.Extensions.Configuration;
using Orleans.Im.Accounts;
using Orleans.Im.Client;
using Orleans.Im.Conversations;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.RobotSamples.Echo;
using Orleans.Im.RobotSamples.Shop;
using Orleans.Im.Robots.Hosting;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Robots;

/// <summary>
/// A shop's robot covers a customer-service session, loses it to an agent and gets it back. What the agent answered
/// meanwhile is no question for the robot, also when the robot never heard that it had lost the session: pushes are
/// hints, and a robot whose device was away for a moment (its user grain collected or moved with a silo, until its next
/// catch-up registers it again) misses them.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class RobotCoverTests(EdgeFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task A_robot_that_missed_losing_a_session_does_not_answer_what_an_agent_answered_meanwhile()
    {
        var (shop, agent, robot) = (Ids.User("shop"), Ids.User("agent"), Ids.User("cover-bot"));
        await RobotTestHost.CreateShopWithRobotAsync(fixture, shop, agent, robot);

        // No catch-up during the test: the robot learns of changes from pushes alone, as between two catch-ups.
        var builder = RobotTestHost.Builder(fixture);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["IM:Robot:CatchUpInterval"] = "00:10:00" });
        builder.AddImRobot(new ShopAutoReplyRobot(shop, faq: null), o => (o.RobotId, o.Secret) = (robot, ApiCalls.Password));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var robotUser = fixture.Orleans.GetGrain<IUserGrain>(robot);
            var device = Assert.Single(await Eventually.ReturnsAsync(robotUser.GetDevicesAsync, d => d.Count == 1, Patience));
            var user = await fixture.NewUserAsync("customer");
            var conversation = GrainKeys.CustomerService(shop, user);
            await using var phone = await fixture.ConnectAsync(user);
            await phone.SendTextAsync(conversation, "is anyone there?");
            await NextAsync(phone, m => m.ConversationId == conversation && m.Content?.Text == ShopAutoReplyRobot.OfflineAnswer);

            // The robot's device is away while an agent takes the session: that it lost the session is pushed to nobody.
            await robotUser.DisconnectDeviceAsync(device.DeviceId, device.ConnectionId);
            await using var console = await fixture.ConnectAsync(agent, "console");
            await console.SetAgentAvailableAsync(shop, true);
            await Eventually.UntilAsync(() => robotUser.GetConversationAsync(conversation), e => e is null, Patience);
            await robotUser.ConnectDeviceAsync(device, null);

            await phone.SendTextAsync(conversation, "I need a human");
            await NextAsync(console, m => m.ConversationId == conversation && m.Content?.Text == "I need a human");
            await console.SendTextAsync(conversation, "a human here");
            await NextAsync(phone, m => m.ConversationId == conversation && m.Content?.Text == "a human here");

            // The agent leaves; the robot covers the session again and answers the next question, and only that one.
            await console.SetAgentAvailableAsync(shop, false);
            await Eventually.UntilAsync(() => robotUser.GetConversationAsync(conversation), e => e is not null, Patience);
            var asked = await phone.SendTextAsync(conversation, "hello again?");
            // The robot marks a question read once it has handled it, and handles a conversation in order: once it has
            // read this one, any answer to an earlier question would be stored too.
            await Eventually.UntilAsync(() => robotUser.GetConversationAsync(conversation), e => e?.ReadSeq >= asked.Seq, Patience);

            var answers = (await phone.PullAsync(conversation, 0, limit: 50)).Messages
                .Where(m => m.Content?.Text is "is anyone there?" or "I need a human" or "a human here" or "hello again?" or ShopAutoReplyRobot.OfflineAnswer)
                .Select(m => m.Content.Text == ShopAutoReplyRobot.OfflineAnswer ? "robot" : m.Content.Text);
            Assert.Equal(["is anyone there?", "robot", "I need a human", "a human here", "hello again?", "robot"], answers);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_robot_removed_from_a_group_and_added_back_while_away_does_not_answer_what_was_said_without_it()
    {
        var (owner, robot) = (await fixture.NewUserAsync("owner"), Ids.User("group-bot"));
        await fixture.CreateAccountAsync(robot, AccountRole.Robot);
        var groupId = GrainKeys.NewGroup();
        var group = fixture.Orleans.GetGrain<IConversationGrain>(groupId);
        Assert.Equal(AccessStatus.Ok, (await group.CreateGroupAsync(new CreateGroupRequest(owner, "with a robot", [robot]))).Status);

        var builder = RobotTestHost.Builder(fixture);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["IM:Robot:CatchUpInterval"] = "00:10:00" });
        builder.AddImRobot(new EchoRobot(), o => (o.RobotId, o.Secret) = (robot, ApiCalls.Password));
        using var host = builder.Build();
        await host.StartAsync();
        try
        {
            var robotUser = fixture.Orleans.GetGrain<IUserGrain>(robot);
            var device = Assert.Single(await Eventually.ReturnsAsync(robotUser.GetDevicesAsync, d => d.Count == 1, Patience));
            await using var phone = await fixture.ConnectAsync(owner);
            await phone.SendTextAsync(groupId, "one");
            await NextAsync(phone, m => m.ConversationId == groupId && m.SenderId == robot && m.Content?.Text == "one");

            // The robot's device is away while it is removed, the group talks, and it is added back: it hears of none of it.
            await robotUser.DisconnectDeviceAsync(device.DeviceId, device.ConnectionId);
            Assert.Equal(AccessStatus.Ok, (await group.RemoveMemberAsync(owner, robot)).Status);
            await phone.SendTextAsync(groupId, "said without the robot");
            Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [robot])).Status);
            await robotUser.ConnectDeviceAsync(device, null);

            // The next message is answered, and only it: what was said while the robot was out is history to it.
            var two = await phone.SendTextAsync(groupId, "two");
            await NextAsync(phone, m => m.ConversationId == groupId && m.SenderId == robot && m.Content?.Text == "two");
            await Eventually.UntilAsync(() => robotUser.GetConversationAsync(groupId), e => e?.ReadSeq >= two.Seq, Patience);
            Assert.Equal(["one", "two"], await RobotTestHost.RepliesAsync(fixture, groupId, owner, robot));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private static Task<V1.Message> NextAsync(ImClient client, Func<V1.Message, bool> match) => client.NextAsync(match, Patience);
}
