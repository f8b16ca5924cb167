using System.Text.Json;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Groups;

/// <summary>
/// A group tells its members of its changes by notices in the conversation ("alice added bob"): in order with the
/// messages, to online devices as pushes and to the others at sync, and only the group can post them.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class GroupNoticeTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_name_or_announcement_its_notice_could_not_store_is_refused_and_later_notices_still_come()
    {
        var (owner, member) = (Ids.User("owner"), Ids.User("member"));
        var refusedName = await Client.Conversation(GrainKeys.NewGroup()).CreateGroupAsync(new CreateGroupRequest(owner, "Te\u0000am", [member]));
        Assert.Equal(AccessStatus.Invalid, refusedName.Status);

        var conversationId = GrainKeys.NewGroup();
        var group = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, (await group.CreateGroupAsync(new CreateGroupRequest(owner, "Team", [member]))).Status);

        // PostgreSQL's jsonb takes no NUL: accepted, its notice would be refused by the log for good, and hold back every
        // notice after it.
        Assert.Equal(AccessStatus.Invalid, (await group.SetAnnouncementAsync(owner, "a\u0000b")).Status);
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(owner, "second")).Status);

        var log = (await group.PullAsync(member, new PullRequest(0, null, 50))).Messages;
        Assert.Equal([GroupNotices.Created, GroupNotices.AnnouncementSet], log.Select(m => m.Content!.CustomType));
        Assert.Equal("second", Data(log[1]).GetProperty("announcement").GetString());
    }

    [Fact]
    public async Task A_message_sent_after_a_change_whose_notice_the_log_refused_again_waits_so_the_notice_comes_first()
    {
        var (owner, member) = (Ids.User("owner"), Ids.User("member"));
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var group = Client.Conversation(conversationId);
        var log = FaultyMessageLog.For(conversationId);

        // The change is stored, its notice not (the log refuses it), and at the next send the log refuses it once more.
        fixture.StorageFaults.Fail(log);
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(owner, "read the rules")).Status);
        fixture.StorageFaults.Heal(log);
        fixture.StorageFaults.FailNext(log, 1);
        var clientMsgId = Ids.ClientMsgId();
        Assert.Equal(SendStatus.Unavailable, (await Client.SendTextAsync(conversationId, member, "ok", clientMsgId)).Status);

        // The retry goes after the notice (before, the message was stored first, and the notice after it).
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, member, "ok", clientMsgId)).Status);
        var pulled = (await group.PullAsync(member, new PullRequest(0, null, 50))).Messages;
        Assert.Equal([GroupNotices.Created, GroupNotices.AnnouncementSet, null], pulled.Select(m => m.Content!.CustomType));
    }

    [Fact]
    public async Task Every_change_of_members_roles_and_announcement_is_told_in_the_conversation_in_order()
    {
        var (owner, admin, member, newcomer) = (Ids.User("owner"), Ids.User("admin"), Ids.User("member"), Ids.User("newcomer"));
        var conversationId = GrainKeys.NewGroup();
        var group = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, (await group.CreateGroupAsync(new CreateGroupRequest(owner, "Team", [admin, member]))).Status);
        await using var membersPhone = await DeviceProbe.ConnectAsync(Client, member);

        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, admin, GroupRole.Admin)).Status);
        // The same role again (a retry) tells nobody twice.
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, admin, GroupRole.Admin)).Status);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, member, "hello")).Status);
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(admin, [newcomer])).Status);
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(admin, "Be kind.")).Status);
        // The same announcement again (a retry) tells nobody twice.
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(admin, "Be kind.")).Status);
        Assert.Equal(AccessStatus.Ok, (await group.RemoveMemberAsync(admin, member)).Status);
        Assert.Equal(AccessStatus.Ok, (await group.LeaveAsync(owner)).Status);

        // Read by a member from the start (the newcomer's history starts at the notice that added them).
        var log = (await group.PullAsync(admin, new PullRequest(0, null, 50))).Messages;
        Assert.Equal(
            [
                (1L, owner, GroupNotices.Created, $"{owner} created the group \"Team\""),
                (2L, owner, GroupNotices.RoleChanged, $"{owner} made {admin} an admin"),
                (3L, member, null, "hello"),
                (4L, admin, GroupNotices.MembersAdded, $"{admin} added {newcomer}"),
                (5L, admin, GroupNotices.AnnouncementSet, $"{admin} set the announcement: Be kind."),
                (6L, admin, GroupNotices.MemberRemoved, $"{admin} removed {member}"),
                (7L, owner, GroupNotices.MemberLeft, $"{owner} left the group; {admin} is the owner now"),
            ],
            log.Select(m => (m.Seq, m.SenderId, m.Content!.CustomType, m.Content.Text)));

        // The data says the same for clients that show it their own way.
        var created = Data(log[0]);
        Assert.Equal(owner, created.GetProperty("actorId").GetString());
        Assert.Equal([admin, member], created.GetProperty("memberIds").EnumerateArray().Select(e => e.GetString()).Order());
        Assert.Equal((2, "Team"), (created.GetProperty("memberCount").GetInt32(), created.GetProperty("name").GetString()));
        Assert.Equal("admin", Data(log[1]).GetProperty("role").GetString());
        Assert.Equal("Be kind.", Data(log[4]).GetProperty("announcement").GetString());
        Assert.Equal(admin, Data(log[6]).GetProperty("newOwnerId").GetString());

        // The newcomer's list starts at the notice that added them, unread; the removed member's device was told of the
        // changes while they were a member, pushed in order with the messages, and of nothing after.
        var entry = await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId);
        Assert.Equal((7L, 3L, $"{owner} left the group; {admin} is the owner now"), (entry!.LastSeq, entry.ReadSeq, entry.LastMessage!.Text));
        var pushed = await Eventually.ReturnsAsync(() => Task.FromResult(Seqs(membersPhone)), s => s.Count >= 4);
        Assert.Equal([2L, 4L, 5L], pushed.Where(s => s != 3));
        await Task.Delay(200);
        Assert.DoesNotContain(Seqs(membersPhone), s => s > 5);
    }

    [Fact]
    public async Task Only_the_group_posts_notices_and_nobody_edits_or_recalls_them()
    {
        var (owner, member) = (Ids.User("owner"), Ids.User("member"));
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var group = Client.Conversation(conversationId);

        // A member's forged "the owner made me an admin" is refused, sent or edited in.
        var forged = new MessageContent(ContentType.Custom, $"{owner} made {member} an admin", CustomType: GroupNotices.RoleChanged,
            CustomData: $$"""{"actorId":"{{owner}}","memberIds":["{{member}}"],"memberCount":1,"role":"admin"}""");
        var sent = await group.SendAsync(new SendRequest(member, "phone", Ids.ClientMsgId(), forged));
        Assert.Equal(SendStatus.Invalid, sent.Status);
        var text = await Client.SendTextAsync(conversationId, member, "an honest message");
        Assert.Equal(AccessStatus.Invalid, await group.EditAsync(member, text.Seq, forged));
        // Whatever type it claims: clients take the custom type for a notice.
        var asText = forged with { Type = ContentType.Text };
        Assert.Equal(SendStatus.Invalid, (await group.SendAsync(new SendRequest(member, "phone", Ids.ClientMsgId(), asText))).Status);
        Assert.Equal(AccessStatus.Invalid, await group.EditAsync(member, text.Seq, asText));

        // The creation notice is the owner's message, but the group's record: the owner (an admin too) takes nothing back.
        var notice = (await group.PullAsync(owner, new PullRequest(0, null, 10))).Messages.Single(m => GroupNotices.Is(m.Content));
        Assert.Equal(AccessStatus.NotAllowed, await group.RecallAsync(owner, notice.Seq));
        Assert.Equal(AccessStatus.NotAllowed, await group.EditAsync(owner, notice.Seq, MessageContent.FromText("nothing happened")));
        // Hiding it from one's own view is one's own business.
        Assert.Equal(AccessStatus.Ok, await group.DeleteForSelfAsync(member, notice.Seq));
    }

    [Fact]
    public async Task A_notice_of_the_users_own_change_does_not_read_what_they_had_not_read()
    {
        var (owner, member, newcomer) = (Ids.User("owner"), Ids.User("member"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var group = Client.Conversation(conversationId);
        var owners = Client.GetGrain<IUserGrain>(owner);
        var mention = await group.SendAsync(new SendRequest(member, null, Ids.ClientMsgId(), MessageContent.FromText("@owner look"), Mentions: [owner]));
        await Client.SendTextAsync(conversationId, member, "and this");
        var before = await Eventually.ReturnsAsync(() => owners.GetConversationAsync(conversationId), e => e?.LastSeq == mention.Seq + 1);

        // The owner adds someone from the group's settings, without opening the chat: the mention and both messages are
        // still unread (the notice too: the owner had not read up to it).
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [newcomer])).Status);
        var after = await Eventually.ReturnsAsync(() => owners.GetConversationAsync(conversationId), e => e?.LastSeq == mention.Seq + 2);
        Assert.Equal((before!.ReadSeq, true, 3L), (after!.ReadSeq, after.Mentioned, after.UnreadCount));

        // Also once the user's grain comes back and squares its entries with the log, where the notice is the user's own.
        await fixture.Cluster.DeactivateAsync(owners);
        var reconciled = await owners.GetConversationAsync(conversationId);
        Assert.Equal((before.ReadSeq, 3L), (reconciled!.ReadSeq, reconciled.UnreadCount));

        // Read up to date, the next notice of their own is read with it.
        await owners.MarkReadAsync(conversationId, after.LastSeq);
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(owner, "welcome")).Status);
        var read = await Eventually.ReturnsAsync(() => owners.GetConversationAsync(conversationId), e => e?.LastSeq == after.LastSeq + 1);
        Assert.Equal((read!.LastSeq, 0L), (read.ReadSeq, read.UnreadCount));
    }

    [Fact]
    public async Task A_member_whose_entry_could_not_be_saved_at_the_add_starts_at_the_head_when_it_is_retried()
    {
        var (owner, newcomer) = (Ids.User("owner"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, Ids.User("old"));
        var group = Client.Conversation(conversationId);
        for (var i = 0; i < 5; i++)
        {
            await Client.SendTextAsync(conversationId, owner, $"before {i}");
        }

        // The newcomer's entry cannot be saved: the add answers unavailable, and its notice reaches the entry in memory.
        var storage = GrainId.Create("user", newcomer);
        Assert.Null(await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId)); // active, its state read
        fixture.StorageFaults.Fail(storage);
        Assert.Equal(AccessStatus.Unavailable, (await group.AddMembersAsync(owner, [newcomer])).Status);
        Assert.True(fixture.StorageFaults.Heal(storage) > 0);

        // The retry saves it at the head: the six messages from before the newcomer came are not theirs to read.
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [newcomer])).Status);
        var entry = await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId);
        Assert.True(entry!.ReadSeq >= 6 && entry.UnreadCount <= 1, $"read {entry.ReadSeq} of {entry.LastSeq}, {entry.UnreadCount} unread");
    }

    [Fact]
    public async Task An_add_whose_new_members_grain_fails_is_told_once_and_answered_unavailable_for_a_retry()
    {
        var (owner, member, newcomer) = (Ids.User("owner"), Ids.User("member"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var group = Client.Conversation(conversationId);

        // The newcomer's user grain cannot even activate (its state cannot be read): an answer, not an exception, and
        // the change, stored already, is told to the members all the same.
        var storage = GrainId.Create("user", newcomer);
        fixture.StorageFaults.Fail(storage);
        Assert.Equal(AccessStatus.Unavailable, (await group.AddMembersAsync(owner, [newcomer])).Status);
        Assert.True(fixture.StorageFaults.Heal(storage) > 0);
        // Retried as a client does on unavailable: the grain whose activation failed may answer so a moment longer.
        var retried = await Eventually.ReturnsAsync(async () => (await group.AddMembersAsync(owner, [newcomer])).Status, s => s == AccessStatus.Ok);
        Assert.Equal(AccessStatus.Ok, retried);

        var notices = (await group.PullAsync(member, new PullRequest(0, null, 50))).Messages.Where(m => m.Content?.CustomType == GroupNotices.MembersAdded);
        Assert.Equal($"{owner} added {newcomer}", Assert.Single(notices).Content!.Text);
        Assert.NotNull(await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId), e => e is not null));
    }

    [Fact]
    public async Task A_member_whose_entry_could_not_be_made_at_the_add_gets_it_though_nobody_retries_the_add()
    {
        var (owner, member, newcomer) = (Ids.User("owner"), Ids.User("member"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var group = Client.Conversation(conversationId);
        // The newcomer's user grain never hears of the join (the call lost with its silo, say).
        var lost = fixture.CallHolds.DropNext(GrainId.Create("user", newcomer), nameof(IUserGrain.JoinConversationAnewAtHeadAsync));
        Assert.Equal(AccessStatus.Unavailable, (await group.AddMembersAsync(owner, [newcomer])).Status);
        await lost;

        // The admin does not retry (before, the newcomer was a member without the group in their list, and every message
        // was dropped for them): the group makes the entry itself a little later, and the next message reaches it.
        var newcomers = Client.GetGrain<IUserGrain>(newcomer);
        Assert.NotNull(await Eventually.ReturnsAsync(() => newcomers.GetConversationAsync(conversationId), e => e is not null, TimeSpan.FromSeconds(30)));
        var said = await Client.SendTextAsync(conversationId, member, "welcome!");
        Assert.Equal(SendStatus.Sent, said.Status);
        var entry = await Eventually.ReturnsAsync(() => newcomers.GetConversationAsync(conversationId), e => e?.LastSeq >= said.Seq);
        Assert.Equal((said.Seq, 1L), (entry?.LastSeq, entry?.UnreadCount));
    }

    [Fact]
    public async Task A_group_created_with_many_members_lists_the_first_ones_and_counts_them_all()
    {
        var owner = Ids.User("owner");
        var members = Enumerable.Range(0, GroupNotices.MaxMembersListed + 10).Select(i => Ids.User($"m{i}")).ToArray();
        var conversationId = await Client.CreateGroupAsync(owner, members);

        var notice = (await Client.Conversation(conversationId).PullAsync(owner, new PullRequest(0, null, 10))).Messages.Single();
        var data = Data(notice);
        Assert.Equal(GroupNotices.MaxMembersListed, data.GetProperty("memberIds").GetArrayLength());
        Assert.Equal(members.Length, data.GetProperty("memberCount").GetInt32());
        Assert.True(Im.Conversations.MessageValidator.SizeOf(notice.Content!) <= MessageLimits.MaxContentBytes);
    }

    [Fact]
    public async Task Notices_the_log_refused_are_posted_in_order_before_the_next_message()
    {
        var (owner, member) = (Ids.User("owner"), Ids.User("member"));
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var group = Client.Conversation(conversationId);

        // The message table refuses appends; the group's state is saved: the changes stand, their notices wait.
        var messageLog = FaultyMessageLog.For(conversationId);
        fixture.StorageFaults.Fail(messageLog);
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(owner, "Be kind.")).Status);
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, member, GroupRole.Admin)).Status);
        Assert.Equal(SendStatus.Unavailable, (await Client.SendTextAsync(conversationId, member, "too soon")).Status);
        Assert.True(fixture.StorageFaults.Heal(messageLog) > 0);

        // The next message goes after them.
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, member, "after")).Status);
        Assert.Equal(
            [(GroupNotices.Created, owner), (GroupNotices.AnnouncementSet, owner), (GroupNotices.RoleChanged, owner), (null, member)],
            (await group.PullAsync(member, new PullRequest(0, null, 50))).Messages.Select(m => (m.Content!.CustomType, m.SenderId)));
    }

    [Fact]
    public async Task A_notice_not_posted_when_its_activation_ended_is_posted_by_the_next_one_once()
    {
        var (owner, member, other) = (Ids.User("owner"), Ids.User("member"), Ids.User("other"));
        var conversationId = await Client.CreateGroupAsync(owner, member, other);
        var group = Client.Conversation(conversationId);

        // The change is stored, then its activation ends before the notice is in the log (played: the log refuses it, as
        // when the silo dies between the two).
        var messageLog = FaultyMessageLog.For(conversationId);
        fixture.StorageFaults.Fail(messageLog);
        Assert.Equal(AccessStatus.Ok, (await group.RemoveMemberAsync(owner, other)).Status);
        await fixture.Cluster.DeactivateAsync(group);
        Assert.True(fixture.StorageFaults.Heal(messageLog) > 0);

        // Whatever call comes next finds it told; later activations do not tell it again.
        var log = (await group.PullAsync(member, new PullRequest(0, null, 50))).Messages;
        Assert.Equal($"{owner} removed {other}", Assert.Single(log, m => m.Content?.CustomType == GroupNotices.MemberRemoved).Content!.Text);
        var entry = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(member).GetConversationAsync(conversationId), e => e?.LastSeq == 2);
        Assert.Equal(GroupNotices.MemberRemoved, entry!.LastMessage!.CustomType);
        await fixture.Cluster.DeactivateAsync(group);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, member, "after")).Status);
        Assert.Equal([GroupNotices.Created, GroupNotices.MemberRemoved, null],
            (await group.PullAsync(member, new PullRequest(0, null, 50))).Messages.Select(m => m.Content!.CustomType));
    }

    private static JsonElement Data(ChatMessage message) => JsonDocument.Parse(message.Content!.CustomData!).RootElement;

    private static List<long> Seqs(DeviceProbe device) =>
        [.. device.Events.OfType<MessageEvent>().Select(e => e.Message.Seq).Where(s => s > 0)];
}
