using System.Text.Json;
using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Firehose;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Events;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class FirehoseClusterTests(ClusterFixture fixture) : IAsyncLifetime
{
    private const int Conversations = 10;
    private const int MessagesPerConversation = 100;
    private ConnectionMultiplexer _redis = null!;

    private IClusterClient Client => fixture.Client;

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task Each_consumer_group_sees_every_message_event_of_a_1000_message_run_once_in_seq_order_also_across_its_restart()
    {
        var users = Enumerable.Range(0, Conversations).Select(i => (Ids.User("fa"), Ids.User("fb"))).ToList();
        var conversations = users.Select(u => GrainKeys.P2P(u.Item1, u.Item2)).ToHashSet();
        bool Ours(FirehoseEvent e) => e.ConversationId is { } c && conversations.Contains(c);
        var run = Guid.NewGuid().ToString("N");
        await using var restarting = new FirehoseRecorder(_redis, new FirehoseConsumerOptions { Group = "restarting-" + run, Consumer = "reader" }, Ours);
        await using var steady = new FirehoseRecorder(_redis, new FirehoseConsumerOptions { Group = "steady-" + run, Consumer = "reader" }, Ours);
        await restarting.CreateGroupAsync();
        await steady.CreateGroupAsync();
        steady.Start();
        restarting.StopAfter = 300;
        restarting.Start();

        var sends = await Task.WhenAll(users.Select(async u =>
        {
            var results = new List<SendResult>();
            for (var i = 1; i <= MessagesPerConversation; i++)
            {
                results.Add(await Client.SendTextAsync(GrainKeys.P2P(u.Item1, u.Item2), i % 2 == 0 ? u.Item2 : u.Item1, $"m{i}"));
            }

            return results;
        }));
        Assert.All(sends.SelectMany(s => s), r => Assert.Equal(SendStatus.Sent, r.Status));

        // The restarting reader stopped by itself mid-run; a new one of the same group and name takes over.
        await restarting.WaitStoppedAsync(TimeSpan.FromSeconds(60));
        Assert.Equal(300, restarting.Kept.Count);
        await restarting.StopAsync();
        restarting.StopAfter = null;
        restarting.Start();

        const int Total = Conversations * MessagesPerConversation;
        foreach (var recorder in new[] { steady, restarting })
        {
            var seen = await recorder.WaitForAsync(k => k.Count >= Total);
            await Task.Delay(300); // anything beyond the run would be a duplicate: give it a moment to show
            seen = recorder.Kept;
            Assert.Equal(Total, seen.Count);
            Assert.Equal(Total, seen.Select(e => e.Id).Distinct().Count());
            Assert.All(seen, e => Assert.Equal((EventClass.Message, "message.sent"), (e.Class, e.Type)));
            foreach (var byConversation in seen.GroupBy(e => e.ConversationId))
            {
                Assert.Equal(Enumerable.Range(1, MessagesPerConversation).Select(i => (long)i), byConversation.Select(e => e.Seq!.Value));
            }
        }
    }

    [Fact]
    public async Task A_message_event_carries_the_stored_message()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var recorder = new FirehoseRecorder(_redis, new FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c" }, e => e.ConversationId == conversationId);
        await recorder.CreateGroupAsync();
        recorder.Start();

        var sent = await Client.SendTextAsync(conversationId, alice, "hello firehose", clientMsgId: "cmid-1", deviceId: "phone");

        var e = Assert.Single(await recorder.WaitForAsync(k => k.Count >= 1));
        Assert.Equal(($"m:{conversationId}:{sent.Seq}", conversationId, sent.Seq, alice), (e.Id, e.ConversationId, e.Seq, e.UserId));
        Assert.Equal(sent.ServerTime.ToUnixTimeMilliseconds(), e.Time.ToUnixTimeMilliseconds());
        var data = JsonSerializer.Deserialize<MessageEventData>(e.Data, EventJson.Options)!;
        Assert.Equal(("cmid-1", "phone", MessageClass.Persistent, "hello firehose"), (data.ClientMsgId, data.SenderDeviceId, data.Class, data.Content!.Text));
        using var body = JsonDocument.Parse(e.Data);
        Assert.Equal("text", body.RootElement.GetProperty("content").GetProperty("type").GetString());
    }

    [Fact]
    public async Task Edits_recalls_reads_and_group_changes_are_published_to_their_own_streams()
    {
        var (owner, member, newcomer) = (Ids.User("owner"), Ids.User("member"), Ids.User("newcomer"));
        var groupId = GrainKeys.NewGroup();
        EventClass[] classes = [EventClass.Edit, EventClass.Recall, EventClass.Read, EventClass.Group, EventClass.Message];
        await using var recorder = new FirehoseRecorder(_redis, new FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c", Classes = classes },
            e => e.ConversationId == groupId);
        await recorder.CreateGroupAsync();
        recorder.Start();

        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(groupId).CreateGroupAsync(new CreateGroupRequest(owner, "events", [member]))).Status);
        var first = await Client.SendTextAsync(groupId, member, "typo");
        var second = await Client.SendTextAsync(groupId, member, "oops");
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(groupId).EditAsync(member, first.Seq, MessageContent.FromText("fixed")));
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(groupId).RecallAsync(member, second.Seq));
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(groupId).AddMembersAsync(owner, [newcomer])).Status);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(groupId).SetRoleAsync(owner, member, GroupRole.Admin)).Status);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(groupId).RenameGroupAsync(member, "events, renamed")).Status);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(groupId).LeaveAsync(newcomer)).Status);
        // Read to the end (the owner's own notices count as read already; the newcomer's leaving is the last).
        var head = (await Client.Conversation(groupId).GetHeadAsync(owner)).LastSeq;
        await Client.GetGrain<IUserGrain>(owner).MarkReadAsync(groupId, head);

        // Each group change is also a message (the group's notice to its members): created, added, role, renamed, left.
        string[] notices = ["message.sent", "message.sent", "message.sent", "message.sent", "message.sent"];
        string[] expected = ["group.created", "message.sent", "message.sent", "message.edited", "message.recalled", "group.members_added", "group.role_changed", "group.renamed", "group.member_left", "conversation.read", .. notices];
        var events = await recorder.WaitForAsync(k => k.Count >= expected.Length);
        Assert.Equal(expected.Order(), events.Select(e => e.Type).Order());
        var edited = events.Single(e => e.Type == "message.edited");
        Assert.Equal((EventClass.Edit, first.Seq, member), (edited.Class, edited.Seq, edited.UserId));
        Assert.Equal("fixed", JsonSerializer.Deserialize<MessageChangeEventData>(edited.Data, EventJson.Options)!.Content!.Text);
        var recalled = events.Single(e => e.Type == "message.recalled");
        Assert.Equal((EventClass.Recall, second.Seq, MessageState.Recalled), (recalled.Class, recalled.Seq, JsonSerializer.Deserialize<MessageChangeEventData>(recalled.Data, EventJson.Options)!.State));
        var created = JsonSerializer.Deserialize<GroupEventData>(events.Single(e => e.Type == "group.created").Data, EventJson.Options)!;
        Assert.Equal(new[] { member, owner }.Order(), created.MemberIds.Order());
        Assert.Equal(("events", 2), (created.Name, created.MemberCount));
        var renamed = events.Single(e => e.Type == "group.renamed");
        var renamedData = JsonSerializer.Deserialize<GroupEventData>(renamed.Data, EventJson.Options)!;
        Assert.Equal((member, "events, renamed", "events"), (renamed.UserId, renamedData.Name, renamedData.PreviousName));
        var read = events.Single(e => e.Type == "conversation.read");
        Assert.Equal((EventClass.Read, owner, head), (read.Class, read.UserId, read.Seq));
        var left = events.Single(e => e.Type == "group.member_left");
        Assert.Equal(newcomer, left.UserId);
        Assert.Equal([newcomer], JsonSerializer.Deserialize<GroupEventData>(left.Data, EventJson.Options)!.MemberIds);
    }

    [Fact]
    public async Task A_user_coming_online_is_told_to_the_firehose_whether_or_not_they_share_presence()
    {
        var user = Ids.User("shy");
        await using var recorder = new FirehoseRecorder(_redis, new FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c", Classes = [EventClass.Presence] },
            e => e.UserId == user);
        await recorder.CreateGroupAsync();
        recorder.Start();

        await using var phone = await DeviceProbe.ConnectAsync(Client, user);

        var online = Assert.Single(await recorder.WaitForAsync(k => k.Count >= 1));
        Assert.Equal((EventClass.Presence, "presence.changed", (string?)null), (online.Class, online.Type, online.ConversationId));
        var data = JsonSerializer.Deserialize<PresenceEventData>(online.Data, EventJson.Options)!;
        Assert.Equal((PresenceStatus.Online, 1), (data.Status, data.Devices));
    }
}
