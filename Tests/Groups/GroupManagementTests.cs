using Orleans.Im.Accounts;
using Orleans.Im.Contacts;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Groups;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class GroupManagementTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Creating_a_group_makes_the_creator_owner_and_puts_it_in_every_members_list()
    {
        var owner = Ids.User("owner");
        var members = new[] { Ids.User("a"), Ids.User("b") };
        var conversationId = GrainKeys.NewGroup();

        var created = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(owner, " Team ", [.. members, owner]));

        Assert.Equal(AccessStatus.Ok, created.Status);
        Assert.Equal(("Team", owner, 3), (created.Group!.Name, created.Group.OwnerId, created.Group.MemberCount));
        var (status, list) = await Client.Conversation(conversationId).GetMembersAsync(members[0]);
        Assert.Equal(AccessStatus.Ok, status);
        Assert.Equal(GroupRole.Owner, list.Single(m => m.UserId == owner).Role);
        foreach (var user in members.Append(owner))
        {
            Assert.NotNull(await Client.GetGrain<IUserGrain>(user).GetConversationAsync(conversationId));
        }

        var again = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(Ids.User("other"), "Mine", []));
        Assert.Equal(AccessStatus.Conflict, again.Status);
    }

    [Fact]
    public async Task Only_owners_and_admins_manage_members_and_the_announcement()
    {
        var owner = Ids.User("owner");
        var admin = Ids.User("admin");
        var member = Ids.User("member");
        var newcomer = Ids.User("newcomer");
        var conversationId = await Client.CreateGroupAsync(owner, admin, member);
        var group = Client.Conversation(conversationId);

        Assert.Equal(AccessStatus.NotAllowed, (await group.AddMembersAsync(member, [newcomer])).Status);
        Assert.Equal(AccessStatus.NotAllowed, (await group.SetAnnouncementAsync(member, "mine now")).Status);
        Assert.Equal(AccessStatus.NotAllowed, (await group.SetRoleAsync(admin, member, GroupRole.Admin)).Status);
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, admin, GroupRole.Admin)).Status);

        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(admin, [newcomer])).Status);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, newcomer, "hi all")).Status);
        Assert.Equal(AccessStatus.Ok, (await group.SetAnnouncementAsync(admin, "Be kind.")).Status);
        Assert.Equal("Be kind.", (await group.GetGroupAsync(newcomer)).Group!.Announcement);

        // Admins remove plain members, not the owner; nobody removes themselves (that is leaving).
        Assert.Equal(AccessStatus.NotAllowed, (await group.RemoveMemberAsync(admin, owner)).Status);
        Assert.Equal(AccessStatus.Ok, (await group.RemoveMemberAsync(admin, newcomer)).Status);
        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(conversationId, newcomer, "still here?")).Status);
        Assert.Null(await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId));
    }

    [Fact]
    public async Task A_dissolved_group_says_so_and_is_read_only_with_its_history_kept_until_its_members_leave()
    {
        var (owner, admin, member, newcomer) = (Ids.User("owner"), Ids.User("admin"), Ids.User("member"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, admin, member);
        var group = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, admin, GroupRole.Admin)).Status);
        var hello = await Client.SendTextAsync(conversationId, member, "hello", clientMsgId: "before");
        Assert.Equal(SendStatus.Sent, hello.Status);

        // Only the owner dissolves it.
        Assert.Equal(AccessStatus.NotAllowed, (await group.DissolveGroupAsync(admin)).Status);
        Assert.Equal(AccessStatus.NoAccess, (await group.DissolveGroupAsync(newcomer)).Status);
        var dissolved = await group.DissolveGroupAsync(owner);
        Assert.Equal(AccessStatus.Ok, dissolved.Status);
        Assert.NotNull(dissolved.Group!.DissolvedAt);
        // Again (a retry whose answer was lost): the same answer, and no second notice.
        Assert.Equal((AccessStatus.Ok, dissolved.Group.DissolvedAt), ((await group.DissolveGroupAsync(owner)).Status, (await group.GetGroupAsync(member)).Group!.DissolvedAt));

        // Nobody writes to it or changes it any more; a retry of a message stored before is still answered as stored.
        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(conversationId, member, "anyone?")).Status);
        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(conversationId, owner, "one more")).Status);
        var retried = await Client.SendTextAsync(conversationId, member, "hello", clientMsgId: "before");
        Assert.Equal((SendStatus.Duplicate, hello.Seq), (retried.Status, retried.Seq));
        Assert.Equal(AccessStatus.NotAllowed, (await group.AddMembersAsync(owner, [newcomer])).Status);
        Assert.Equal(AccessStatus.NotAllowed, (await group.SetAnnouncementAsync(admin, "still here")).Status);
        Assert.Equal(AccessStatus.NotAllowed, (await group.SetRoleAsync(owner, member, GroupRole.Admin)).Status);
        Assert.Equal(AccessStatus.NotAllowed, (await group.RemoveMemberAsync(owner, member)).Status);
        Assert.Equal(AccessStatus.NotAllowed, await group.EditAsync(member, hello.Seq, MessageContent.FromText("rewritten")));
        Assert.Equal(AccessStatus.NotAllowed, await group.RecallAsync(member, hello.Seq));

        // Its members keep its history, ending with the notice, and its entry says so in their lists.
        var log = await Client.PullAllAsync(conversationId, member);
        Assert.Equal(
            [(null, "hello"), (GroupNotices.Dissolved, $"{owner} dissolved the group")],
            log.Where(m => m.Seq >= hello.Seq).Select(m => (m.Content!.CustomType, m.Content.Text)));
        var entry = await Eventually.ReturnsAsync(
            () => Client.GetGrain<IUserGrain>(member).GetConversationAsync(conversationId), e => e?.LastSeq == log[^1].Seq);
        Assert.Equal($"{owner} dissolved the group", entry!.LastMessage!.Text);

        // They may leave it (without a notice: it is read-only), and then it is gone from their list.
        Assert.Equal(AccessStatus.Ok, (await group.LeaveAsync(member)).Status);
        Assert.Null(await Client.GetGrain<IUserGrain>(member).GetConversationAsync(conversationId));
        Assert.Equal(log[^1].Seq, (await Client.PullAllAsync(conversationId, admin))[^1].Seq);
    }

    [Fact]
    public async Task A_leaving_owner_hands_the_group_to_an_admin()
    {
        var owner = Ids.User("owner");
        var admin = Ids.User("admin");
        var member = Ids.User("member");
        var conversationId = await Client.CreateGroupAsync(owner, member, admin);
        var group = Client.Conversation(conversationId);
        await group.SetRoleAsync(owner, admin, GroupRole.Admin);

        Assert.Equal(AccessStatus.Ok, (await group.LeaveAsync(owner)).Status);

        var info = (await group.GetGroupAsync(member)).Group!;
        Assert.Equal((admin, 2), (info.OwnerId, info.MemberCount));
        Assert.Equal(AccessStatus.NoAccess, (await group.GetGroupAsync(owner)).Status);
        Assert.True((await Client.GetGrain<IUserGrain>(owner).SyncAsync(0)).Changed.Single(e => e.ConversationId == conversationId).Removed);
    }

    [Fact]
    public async Task A_member_added_to_a_group_with_a_history_starts_at_its_head_and_one_who_comes_back_skips_what_was_said_meanwhile()
    {
        var (owner, old, newcomer) = (Ids.User("owner"), Ids.User("old"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, old);
        var group = Client.Conversation(conversationId);
        for (var i = 0; i < 5; i++)
        {
            await Client.SendTextAsync(conversationId, owner, $"before {i}");
        }

        // Added after five messages (seqs 2-6, after the creation's notice): the list starts at the group's notice that
        // added them, the one message unread (what was said before they came is not theirs to read).
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [newcomer])).Status);
        var joined = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId), e => e?.LastSeq == 7);
        Assert.Equal((7L, 6L, 1L, $"{owner} added {newcomer}"), (joined!.LastSeq, joined.ReadSeq, joined.UnreadCount, joined.LastMessage?.Text));
        await Client.SendTextAsync(conversationId, owner, "after");
        var after = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId), e => e?.LastSeq == 8);
        Assert.Equal(2, after!.UnreadCount);

        // Adding them again (a retry) keeps their read position and tells nobody again; the old member, removed and added
        // back after three more messages, starts at the head again instead of counting what was said while they were out.
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [newcomer])).Status);
        Assert.Equal(2, (await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId))!.UnreadCount);
        Assert.Equal(AccessStatus.Ok, (await group.RemoveMemberAsync(owner, old)).Status);
        for (var i = 0; i < 3; i++)
        {
            await Client.SendTextAsync(conversationId, owner, $"while out {i}");
        }

        // Seqs: 9 the removal's notice, 10-12 while out, 13 the notice that adds them back.
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [old])).Status);
        var back = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(old).GetConversationAsync(conversationId), e => e?.LastSeq == 13);
        Assert.Equal((13L, 1L, false), (back!.LastSeq, back.UnreadCount, back.Removed));
    }

    [Fact]
    public async Task A_member_whose_removal_never_reached_their_entry_starts_at_the_head_when_added_back()
    {
        var (owner, old) = (Ids.User("owner"), Ids.User("old"));
        var conversationId = await Client.CreateGroupAsync(owner, old);
        var group = Client.Conversation(conversationId);

        // Removed while their index cannot be written, and restarted before it could: the stored entry is still live,
        // read up to the creation's notice.
        var oldsGrain = Client.GetGrain<IUserGrain>(old);
        Assert.NotNull(await Eventually.ReturnsAsync(() => oldsGrain.GetConversationAsync(conversationId), e => e is not null));
        var oldsStorage = GrainId.Create("user", old);
        fixture.StorageFaults.Fail(oldsStorage);
        try
        {
            Assert.Equal(AccessStatus.Ok, (await group.RemoveMemberAsync(owner, old)).Status);
            await fixture.Cluster.DeactivateAsync(oldsGrain);
        }
        finally
        {
            fixture.StorageFaults.Heal(oldsStorage);
        }

        // Seqs: 2 the removal's notice, 3-5 while out, 6 the notice that adds them back: only that one is unread.
        for (var i = 0; i < 3; i++)
        {
            await Client.SendTextAsync(conversationId, owner, $"while out {i}");
        }

        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [old])).Status);
        var back = await Eventually.ReturnsAsync(() => oldsGrain.GetConversationAsync(conversationId), e => e?.LastSeq == 6);
        Assert.Equal((6L, 5L, 1L, false), (back!.LastSeq, back.ReadSeq, back.UnreadCount, back.Removed));
    }

    [Fact]
    public async Task A_new_members_entry_is_stored_at_the_head_in_one_write_so_a_restart_before_the_retry_counts_nothing_said_before_as_unread()
    {
        var (owner, old, newcomer) = (Ids.User("owner"), Ids.User("old"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, old);
        var group = Client.Conversation(conversationId);
        for (var i = 0; i < 3; i++)
        {
            await Client.SendTextAsync(conversationId, owner, $"before {i}");
        }

        // The newcomer's index takes one write, then refuses: a join written as "the entry at seq 0", then "moved to the
        // head", stored the first and lost the second.
        var newcomersGrain = Client.GetGrain<IUserGrain>(newcomer);
        await newcomersGrain.GetDevicesAsync();
        var newcomersStorage = GrainId.Create("user", newcomer);
        fixture.StorageFaults.FailAfter(newcomersStorage, passing: 1);
        var added = await group.AddMembersAsync(owner, [newcomer]);
        Assert.Equal(AccessStatus.Ok, added.Status);

        // Restarted before anything else is written (its last save refused too, as in a crash): the stored entry is the
        // join's, read up to the head (seq 4, after the creation's notice and three messages), and only the notice that
        // added them (seq 5) is unread, also once the group asks again.
        await fixture.Cluster.DeactivateAsync(newcomersGrain);
        fixture.StorageFaults.Heal(newcomersStorage);
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [newcomer])).Status);
        var entry = await newcomersGrain.GetConversationAsync(conversationId);
        Assert.Equal((5L, 4L, 1L), (entry!.LastSeq, entry.ReadSeq, entry.UnreadCount));
    }

    [Fact]
    public async Task Owners_and_admins_rename_a_group_with_a_notice_and_a_name_it_has_already_posts_nothing()
    {
        var (owner, admin, member) = (Ids.User("owner"), Ids.User("admin"), Ids.User("member"));
        var conversationId = await Client.CreateGroupAsync(owner, admin, member);
        var group = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, admin, GroupRole.Admin)).Status);

        Assert.Equal(AccessStatus.NotAllowed, (await group.RenameGroupAsync(member, "mine now")).Status);
        foreach (var refused in new[] { "", "   ", new string('x', CreateGroupRequest.MaxNameLength + 1), "Te\u0000am" })
        {
            Assert.Equal(AccessStatus.Invalid, (await group.RenameGroupAsync(admin, refused)).Status);
        }

        var renamed = await group.RenameGroupAsync(admin, " Book club ");
        Assert.Equal((AccessStatus.Ok, "Book club"), (renamed.Status, renamed.Group!.Name));
        Assert.Equal(AccessStatus.Ok, (await group.RenameGroupAsync(owner, "Book club")).Status);
        Assert.Equal("Book club", (await group.GetGroupAsync(member)).Group!.Name);

        // One notice (after the creation's and the role's), which says the name in its text and its data.
        var notices = (await Client.PullAllAsync(conversationId, member)).Where(m => m.Content!.CustomType == GroupNotices.Renamed).ToList();
        var notice = Assert.Single(notices);
        Assert.Equal((admin, $"{admin} renamed the group \"Book club\""), (notice.SenderId, notice.Content!.Text));
        Assert.Contains("\"name\":\"Book club\"", notice.Content.CustomData, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_group_never_grows_past_its_maximum_size()
    {
        var options = new Im.Conversations.ConversationOptions();
        var owner = Ids.User("owner");
        var conversationId = GrainKeys.NewGroup();
        var tooMany = Enumerable.Range(0, options.MaxGroupMembers).Select(i => $"u{i}-{Guid.NewGuid():N}"[..20]).ToArray();

        var refused = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(owner, "big", tooMany));
        Assert.Equal(AccessStatus.Invalid, refused.Status);

        var created = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(owner, "small", []));
        Assert.Equal(AccessStatus.Ok, created.Status);
        Assert.Equal(AccessStatus.Invalid, (await Client.Conversation(conversationId).AddMembersAsync(owner, tooMany)).Status);
        Assert.Equal(1, (await Client.Conversation(conversationId).GetGroupAsync(owner)).Group!.MemberCount);
    }

    [Fact]
    public async Task Invalid_group_requests_are_refused()
    {
        var owner = Ids.User("owner");
        Assert.Equal(AccessStatus.Invalid, (await Client.Conversation(GrainKeys.NewGroup()).CreateGroupAsync(new CreateGroupRequest(owner, "", []))).Status);
        Assert.Equal(AccessStatus.Invalid, (await Client.Conversation(GrainKeys.NewGroup()).CreateGroupAsync(new CreateGroupRequest(owner, "ok", ["bad:id"]))).Status);
        Assert.Equal(AccessStatus.NoAccess, (await Client.Conversation(GrainKeys.P2P(owner, Ids.User("x"))).CreateGroupAsync(new CreateGroupRequest(owner, "ok", []))).Status);
    }

    [Fact]
    public async Task A_user_who_blocks_someone_is_not_put_in_a_group_by_them()
    {
        var (mallory, victim, friend) = (Ids.User("mallory"), Ids.User("victim"), Ids.User("friend"));
        Assert.True(await Client.GetGrain<Accounts.IAccountGrain>(victim).BlockAsync(mallory));

        // Created with the victim in it: the group is made without them, so the block holds in groups too.
        var conversationId = GrainKeys.NewGroup();
        var created = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(mallory, "trap", [victim, friend]));
        Assert.Equal(AccessStatus.Ok, created.Status);
        Assert.Equal([friend, mallory], (await Client.Conversation(conversationId).GetMembersAsync(mallory)).Members.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Null(await Client.GetGrain<IUserGrain>(victim).GetConversationAsync(conversationId));

        // Added later by the one they block: left out too. Added by someone else, they are in.
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(conversationId).AddMembersAsync(mallory, [victim])).Status);
        Assert.DoesNotContain(victim, (await Client.Conversation(conversationId).GetMembersAsync(mallory)).Members.Select(m => m.UserId));
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(conversationId).SetRoleAsync(mallory, friend, GroupRole.Admin)).Status);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(conversationId).AddMembersAsync(friend, [victim])).Status);
        Assert.Contains(victim, (await Client.Conversation(conversationId).GetMembersAsync(mallory)).Members.Select(m => m.UserId));
    }
    [Fact]
    public async Task A_user_who_lets_only_friends_add_them_is_left_out_by_others_who_are_told()
    {
        var (stranger, careful, friend) = (Ids.User("stranger"), Ids.User("careful"), Ids.User("friend"));
        foreach (var (user, name) in new[] { (stranger, "stranger"), (careful, "careful"), (friend, "friend") })
        {
            Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IAccountGrain>(user).CreateAsync(new NewAccount(name, null, [AccountRole.User])));
        }

        await Client.GetGrain<IAccountGrain>(careful).SetGroupAddPolicyAsync(GroupAddPolicy.Contacts);
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IContactsGrain>(friend).RequestAsync(careful, null));
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IContactsGrain>(careful).AcceptAsync(friend));

        // A stranger's group is made without them, and the stranger is told who was left out (to ask them first).
        var conversationId = GrainKeys.NewGroup();
        var created = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(stranger, "club", [careful, friend]));
        Assert.Equal(AccessStatus.Ok, created.Status);
        Assert.Equal([careful], created.NotAdded);
        Assert.Equal([friend, stranger], (await Client.Conversation(conversationId).GetMembersAsync(stranger)).Members.Select(m => m.UserId).Order(StringComparer.Ordinal));
        Assert.Null(await Client.GetGrain<IUserGrain>(careful).GetConversationAsync(conversationId));

        // The creation's retry (its answer lost) says so again.
        var retried = await Client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(stranger, "club", [careful, friend]));
        Assert.Equal(AccessStatus.Ok, retried.Status);
        Assert.Equal([careful], retried.NotAdded);

        // Added later by the stranger: left out again. By a friend (an admin now), they are in.
        var added = await Client.Conversation(conversationId).AddMembersAsync(stranger, [careful]);
        Assert.Equal(AccessStatus.Ok, added.Status);
        Assert.Equal([careful], added.NotAdded);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(conversationId).SetRoleAsync(stranger, friend, GroupRole.Admin)).Status);
        var byFriend = await Client.Conversation(conversationId).AddMembersAsync(friend, [careful]);
        Assert.Equal((AccessStatus.Ok, 0), (byFriend.Status, byFriend.NotAdded?.Count ?? 0));
        Assert.NotNull(await Client.GetGrain<IUserGrain>(careful).GetConversationAsync(conversationId));

        // Back to everyone: a stranger's new group takes them.
        await Client.GetGrain<IAccountGrain>(careful).SetGroupAddPolicyAsync(GroupAddPolicy.Everyone);
        var open = await Client.Conversation(GrainKeys.NewGroup()).CreateGroupAsync(new CreateGroupRequest(stranger, "open", [careful]));
        Assert.Equal((AccessStatus.Ok, 2, 0), (open.Status, open.Group!.MemberCount, open.NotAdded?.Count ?? 0));
    }

    [Fact]
    public async Task Growing_past_the_large_group_threshold_switches_every_member_even_when_a_new_members_entry_fails()
    {
        var owner = Ids.User("owner");
        var members = Enumerable.Range(1, ClusterFixture.LargeGroupThreshold - 1).Select(i => Ids.User($"m{i}")).ToArray();
        var group = await Client.CreateGroupAsync(owner, members);
        await using var alicesPhone = await DeviceProbe.ConnectAsync(Client, members[0]);

        // The one that makes it large cannot save its entry: the add answers unavailable, but the others switch over.
        var newcomer = Ids.User("newcomer");
        await Client.GetGrain<IUserGrain>(newcomer).GetDevicesAsync();
        fixture.StorageFaults.Fail(GrainId.Create("user", newcomer));
        Assert.Equal(AccessStatus.Unavailable, (await Client.Conversation(group).AddMembersAsync(owner, [newcomer])).Status);
        fixture.StorageFaults.Heal(GrainId.Create("user", newcomer));

        // A large group pushes to the members whose entries told it where they are: alice is still pushed to.
        var sent = await Client.SendTextAsync(group, owner, "now we are many");
        await alicesPhone.WaitForAsync<MessageEvent>(e => e.ConversationId == group && e.Seq == sent.Seq);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(group).AddMembersAsync(owner, [newcomer])).Status);
        Assert.NotNull(await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(group));
    }

    [Fact]
    public async Task A_large_group_whose_state_write_failed_still_pushes_to_its_online_members()
    {
        var owner = Ids.User("owner");
        var members = Enumerable.Range(1, ClusterFixture.LargeGroupThreshold + 10).Select(i => Ids.User($"m{i}")).ToArray();
        var group = await Client.CreateGroupAsync(owner, members);
        await using var alicesPhone = await DeviceProbe.ConnectAsync(Client, members[0]);
        var first = await Client.SendTextAsync(group, owner, "hello");
        await alicesPhone.WaitForAsync<MessageEvent>(e => e.ConversationId == group && e.Seq == first.Seq);

        // The announcement's write fails, and so does reading the state back: it is read before the next call instead.
        var groupId = GrainId.Create("conversation", group);
        fixture.StorageFaults.Fail(groupId);
        Assert.Equal(AccessStatus.Unavailable, (await Client.Conversation(group).SetAnnouncementAsync(owner, "lunch at 12")).Status);
        fixture.StorageFaults.Heal(groupId);

        var second = await Client.SendTextAsync(group, owner, "still there?");
        await alicesPhone.WaitForAsync<MessageEvent>(e => e.ConversationId == group && e.Seq == second.Seq);
        Assert.Null((await Client.Conversation(group).GetGroupAsync(owner)).Group!.Announcement);
    }
}
