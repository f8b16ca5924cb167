using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Groups;

/// <summary>Groups that keep what was said before a member joined from that member (the default for new groups).</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class GroupHistoryTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_member_added_to_a_group_that_hides_its_history_reads_only_what_was_said_from_their_join_on()
    {
        var (owner, old, newcomer) = (Ids.User("owner"), Ids.User("old"), Ids.User("newcomer"));
        var conversationId = await Client.CreateGroupAsync(owner, old);
        var group = Client.Conversation(conversationId);
        Assert.True((await group.GetGroupAsync(owner)).Group!.HidesHistoryFromNewMembers);
        // Seqs 2-4, after the creation's notice.
        var secret = await Client.SendTextAsync(conversationId, owner, "before 0");
        await Client.SendTextAsync(conversationId, old, "before 1");
        await Client.SendTextAsync(conversationId, owner, "before 2");

        // Seq 5: the notice that adds them, the first message of their history.
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [newcomer])).Status);
        var members = (await group.GetMembersAsync(owner)).Members;
        Assert.Equal(4, members.Single(m => m.UserId == newcomer).HistoryStartsAfterSeq);
        Assert.Equal(0, members.Single(m => m.UserId == old).HistoryStartsAfterSeq);

        var fromStart = await group.PullAsync(newcomer, new PullRequest(0, null, 50));
        Assert.Equal((AccessStatus.Ok, 4L, 5L), (fromStart.Status, fromStart.HistoryStartsAfterSeq, fromStart.LastSeq));
        Assert.Equal([5L], fromStart.Messages.Select(m => m.Seq));
        var newest = await group.PullAsync(newcomer, new PullRequest(0, long.MaxValue, 50));
        Assert.Equal([5L], newest.Messages.Select(m => m.Seq));
        // Scrolling up from the first message of their history finds nothing older, nor does asking for one by seq.
        Assert.Empty((await group.PullAsync(newcomer, new PullRequest(0, 5, 50))).Messages);
        Assert.Empty((await group.PullAsync(newcomer, new PullRequest(secret.Seq - 1, secret.Seq + 1, 1))).Messages);
        Assert.Equal([1L, 2, 3, 4, 5], (await Client.PullAllAsync(conversationId, old)).Select(m => m.Seq));
        Assert.Equal(0, (await group.PullAsync(old, new PullRequest(0, null, 50))).HistoryStartsAfterSeq);

        // Nor is anything else about those messages theirs: who read them, hiding them, or their later changes.
        Assert.Equal(AccessStatus.NotFound, (await group.GetReadCountAsync(newcomer, secret.Seq)).Status);
        Assert.Equal(AccessStatus.NotFound, await group.DeleteForSelfAsync(newcomer, secret.Seq));
        Assert.Equal(AccessStatus.Ok, (await group.GetReadCountAsync(old, secret.Seq)).Status);
        await using var newcomersPhone = await DeviceProbe.ConnectAsync(Client, newcomer);
        await using var oldsPhone = await DeviceProbe.ConnectAsync(Client, old);
        Assert.Equal(AccessStatus.Ok, await group.EditAsync(owner, secret.Seq, MessageContent.FromText("before 0, edited")));
        await oldsPhone.WaitForAsync<MessageChangedEvent>(e => e.Seq == secret.Seq);
        Assert.Equal([secret.Seq], (await group.PullChangesAsync(old, DateTimeOffset.UnixEpoch, 50)).Messages.Select(m => m.Seq));
        var newcomersChanges = await group.PullChangesAsync(newcomer, DateTimeOffset.UnixEpoch, 50);
        Assert.Equal((AccessStatus.Ok, 0, false), (newcomersChanges.Status, newcomersChanges.Messages.Count, newcomersChanges.HasMore));

        // A restarted conversation tells its last moments again (a crash may have lost the fan-out): not to those whose
        // history starts after them.
        await fixture.Cluster.DeactivateAsync(group);
        var after = await Client.SendTextAsync(conversationId, owner, "after");
        await newcomersPhone.WaitForAsync<MessageEvent>(e => e.Message.Seq == after.Seq);
        await oldsPhone.WaitForAsync<MessageEvent>(e => e.Message.Seq == secret.Seq);
        Assert.DoesNotContain(newcomersPhone.Events, e => e is MessageEvent m && m.Message.Seq <= 4 || e is MessageChangedEvent c && c.Seq <= 4);
        Assert.Equal([5L, after.Seq], (await Client.PullAllAsync(conversationId, newcomer)).Select(m => m.Seq));
        var entry = await Client.GetGrain<IUserGrain>(newcomer).GetConversationAsync(conversationId);
        Assert.Equal((after.Seq, 4L), (entry!.LastSeq, entry.ReadSeq));

        // Made an admin, they still cannot take back or change what they cannot read, nor quote it.
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, newcomer, GroupRole.Admin)).Status);
        Assert.Equal(AccessStatus.NotFound, await group.RecallAsync(newcomer, secret.Seq));
        Assert.Equal(AccessStatus.NotFound, await group.EditAsync(newcomer, secret.Seq, MessageContent.FromText("mine now")));
        var reply = await group.SendAsync(new SendRequest(newcomer, null, Ids.ClientMsgId(), MessageContent.FromText("what was that?") with { ReplyToSeq = secret.Seq }));
        Assert.Equal(SendStatus.Invalid, reply.Status);
        Assert.Equal(MessageState.Edited, (await Client.PullAllAsync(conversationId, old)).Single(m => m.Seq == secret.Seq).State);
    }

    [Fact]
    public async Task Whether_new_members_read_earlier_history_is_fixed_at_their_join_and_set_by_owners_and_admins_with_a_notice()
    {
        var (owner, member, first, second, third) = (Ids.User("owner"), Ids.User("member"), Ids.User("first"), Ids.User("second"), Ids.User("third"));
        var conversationId = GrainKeys.NewGroup();
        var group = Client.Conversation(conversationId);
        var created = await group.CreateGroupAsync(new CreateGroupRequest(owner, "open book", [member], HidesHistoryFromNewMembers: false));
        Assert.Equal((AccessStatus.Ok, false), (created.Status, created.Group!.HidesHistoryFromNewMembers));
        await Client.SendTextAsync(conversationId, owner, "welcome");

        // Shown: the first newcomer reads it all.
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [first])).Status);
        Assert.Equal([1L, 2, 3], (await Client.PullAllAsync(conversationId, first)).Select(m => m.Seq));

        // Only owners and admins change it; the change is told in the group, once.
        Assert.Equal(AccessStatus.NotAllowed, (await group.SetHistoryHiddenFromNewMembersAsync(member, true)).Status);
        var hidden = await group.SetHistoryHiddenFromNewMembersAsync(owner, true);
        Assert.Equal((AccessStatus.Ok, true), (hidden.Status, hidden.Group!.HidesHistoryFromNewMembers));
        var notice = (await Client.PullAllAsync(conversationId, member))[^1];
        Assert.Equal((4L, GroupNotices.HistorySet, $"{owner} hid earlier messages from new members"),
            (notice.Seq, notice.Content!.CustomType, notice.Content.Text));
        Assert.Contains("\"historyHidden\":true", notice.Content.CustomData, StringComparison.Ordinal);
        Assert.Equal(AccessStatus.Ok, (await group.SetHistoryHiddenFromNewMembersAsync(owner, true)).Status);
        Assert.Equal(4, (await group.PullAsync(owner, new PullRequest())).LastSeq);

        // It applies from the next join on: the first newcomer keeps what they could read, the second starts at the join.
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(owner, [second])).Status);
        Assert.Equal([1L, 2, 3, 4, 5], (await Client.PullAllAsync(conversationId, first)).Select(m => m.Seq));
        Assert.Equal([5L], (await Client.PullAllAsync(conversationId, second)).Select(m => m.Seq));

        // Shown again (an admin may set it too): the second keeps their start, the third reads it all.
        Assert.Equal(AccessStatus.Ok, (await group.SetRoleAsync(owner, member, GroupRole.Admin)).Status);
        var shown = await group.SetHistoryHiddenFromNewMembersAsync(member, false);
        Assert.Equal((AccessStatus.Ok, false), (shown.Status, shown.Group!.HidesHistoryFromNewMembers));
        Assert.Equal(AccessStatus.Ok, (await group.AddMembersAsync(member, [third])).Status);
        Assert.Equal([5L, 6, 7, 8], (await Client.PullAllAsync(conversationId, second)).Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(1, 8).Select(i => (long)i), (await Client.PullAllAsync(conversationId, third)).Select(m => m.Seq));
        Assert.Equal(0, (await group.PullAsync(third, new PullRequest())).HistoryStartsAfterSeq);
    }
}
