using Orleans.Im.Accounts;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>
/// The queue's side of a shop's auto-reply robot: a robot account named in the settings, online as a connected device
/// (here a <see cref="DeviceProbe"/>, as the robots SDK registers one), answers waiting users while no human agent is
/// online, as the shop; humans take the sessions when they come.
/// </summary>
[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class AutoReplyRobotQueueTests(CustomerServiceClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task While_no_agent_is_online_the_robot_answers_waiting_users_as_the_shop_and_agents_take_over_when_they_come()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var robot = await CreateRobotAsync("shopbot");
        var robotDevice = await DeviceProbe.ConnectAsync(Client, robot, "robot");
        try
        {
            await CoverAndHandOverAsync(shop, robot, robotDevice);
        }
        finally
        {
            await robotDevice.DisposeAsync();
        }
    }

    private async Task CoverAndHandOverAsync(Shop shop, string robot, DeviceProbe robotDevice)
    {
        var agent = shop.Agents[0];
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyRobotId: robot)));

        // No agent online: the user's session waits, in the queue, and the robot has it.
        var user = Ids.User("user");
        var conversation = shop.Conversation(user);
        Assert.Equal(SendStatus.Sent, (await shop.UserSaysAsync(user, "where is my order?")).Status);
        var covered = await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.RobotId == robot));
        Assert.Equal([user], covered.Waiting);
        Assert.Null(Shop.AgentOf(covered, user));
        Assert.NotNull(await Client.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation));
        Assert.Contains(await Client.PullAllAsync(conversation, robot), m => m.SenderId == user && m.Content?.Text == "where is my order?");
        // The robot answers in its own words instead of the fixed text.
        Assert.Empty(await shop.NoticesAsync(user, CustomerServiceNotices.AutoReply));

        // Its reply is the shop's to the user; the robot is kept for the shop's side only.
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversation, robot, "on its way", clientMsgId: "robot-1-0")).Status);
        var atUser = (await Client.PullAllAsync(conversation, user)).Single(m => m.Content?.Text == "on its way");
        Assert.Equal((shop.Id, (string?)null), (atUser.SenderId, atUser.ActingSenderId));
        var atRobot = (await Client.PullAllAsync(conversation, robot)).Single(m => m.Content?.Text == "on its way");
        Assert.Equal(robot, atRobot.ActingSenderId);

        // An agent comes online: the waiting session goes to the agent, the robot loses the conversation.
        await shop.OnlineAsync(agent);
        var served = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 0 && Shop.AgentOf(s, user) == agent);
        Assert.Null(served.Sessions.Single(s => s.UserId == user).RobotId);
        Assert.Null(await Client.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation));
        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(conversation, robot, "still here?")).Status);
        Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(agent, user, "an agent now")).Status);

        // The agent goes offline: the session is back at the head of the queue, and the robot covers it again.
        await shop.DisconnectAsync(agent);
        var again = await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.AgentId is null && x.RobotId == robot));
        Assert.Equal([user], again.Waiting);
        Assert.NotNull(await Client.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation));

        // The robot goes offline too: nobody covers the wait, and the user is still first in line.
        await robotDevice.DisposeAsync();
        var uncovered = await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.RobotId is null));
        Assert.Equal([user], uncovered.Waiting);
        Assert.Null(await Client.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation));
    }

    [Fact]
    public async Task With_an_agent_online_but_busy_the_robot_does_not_take_waiting_users()
    {
        await using var shop = await Shop.CreateAsync(Client, 1, new CustomerServiceSettings(MaxSessionsPerAgent: 1));
        var robot = await CreateRobotAsync("shopbot");
        await using var robotDevice = await DeviceProbe.ConnectAsync(Client, robot, "robot");
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(MaxSessionsPerAgent: 1, AutoReplyRobotId: robot)));
        await shop.OnlineAsync(shop.Agents[0]);

        var (first, second) = (Ids.User("user1"), Ids.User("user2"));
        await shop.UserSaysAsync(first, "hi");
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == first && x.AgentId is not null));
        await shop.UserSaysAsync(second, "hi too");
        var queued = await shop.SnapshotWhenAsync(s => s.Waiting.Count == 1);
        Assert.Null(queued.Sessions.Single(s => s.UserId == second).RobotId);
        Assert.Null(await Client.GetGrain<IUserGrain>(robot).GetConversationAsync(shop.Conversation(second)));
    }

    [Fact]
    public async Task Only_an_enabled_robot_account_may_be_the_auto_reply_robot()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var person = Ids.User("person");
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IAccountGrain>(person).CreateAsync(new NewAccount("A person", null, [AccountRole.User])));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyRobotId: person)));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyRobotId: Ids.User("nobody"))));
        Assert.Equal(AccessStatus.Invalid, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyRobotId: "not a valid id")));

        var robot = await CreateRobotAsync("shopbot");
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyRobotId: robot)));
        Assert.Equal(robot, (await shop.Queue.GetSettingsAsync()).AutoReplyRobotId);
    }

    [Fact]
    public async Task The_firehose_tells_when_the_robot_covers_a_waiting_user_and_when_an_agent_takes_over()
    {
        await using var shop = await Shop.CreateAsync(Client, 1);
        var robot = await CreateRobotAsync("shopbot");
        await using var robotDevice = await DeviceProbe.ConnectAsync(Client, robot, "robot");
        Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(new CustomerServiceSettings(AutoReplyRobotId: robot)));
        var user = Ids.User("user");
        using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);
        await using var recorder = new FirehoseRecorder(redis,
            new Firehose.FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c", Classes = [Im.Events.EventClass.CustomerService] },
            e => e.ConversationId == shop.Conversation(user));
        await recorder.CreateGroupAsync();
        recorder.Start();

        Assert.Equal(SendStatus.Sent, (await shop.UserSaysAsync(user, "anyone there?")).Status);
        await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user && x.RobotId == robot));
        await shop.OnlineAsync(shop.Agents[0]);
        await shop.SnapshotWhenAsync(s => Shop.AgentOf(s, user) == shop.Agents[0]);

        var events = await recorder.WaitForAsync(k => k.Any(e => e.Type == "cs.assigned"));
        Assert.Equal(["cs.queued", "cs.robot_covers", "cs.assigned"], events.Select(e => e.Type));
        var covers = System.Text.Json.JsonSerializer.Deserialize<Im.Events.CustomerServiceEventData>(events[1].Data, Im.Events.EventJson.Options)!;
        Assert.Equal((robot, 1), (covers.AgentId, covers.Position));
    }

    private async Task<string> CreateRobotAsync(string name)
    {
        var robot = Ids.User(name);
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Shop robot", null, [AccountRole.Robot])));
        return robot;
    }
}
