using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Storage;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Users;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class SyncTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Sync_since_a_version_returns_exactly_the_changed_conversations()
    {
        var me = Ids.User("me");
        var peers = Enumerable.Range(0, 3).Select(i => Ids.User($"peer{i}")).ToArray();
        var conversations = peers.Select(p => GrainKeys.P2P(me, p)).ToArray();
        foreach (var (peer, conversationId) in peers.Zip(conversations))
        {
            await Client.SendTextAsync(conversationId, peer, "hello");
        }

        var user = Client.GetGrain<IUserGrain>(me);
        var all = await Eventually.ReturnsAsync(() => user.SyncAsync(0), r => r.Changed.Count(e => e.LastSeq == 1) == 3);
        Assert.Equal(conversations.Order(), all.Changed.Select(e => e.ConversationId).Order());
        Assert.All(all.Changed, e => Assert.Equal((1L, 0L, 1L), (e.LastSeq, e.ReadSeq, e.UnreadCount)));

        Assert.Empty((await user.SyncAsync(all.Version)).Changed);

        await Client.SendTextAsync(conversations[1], peers[1], "again");
        var afterMessage = await Eventually.ReturnsAsync(() => user.SyncAsync(all.Version), r => r.Changed.Count > 0);
        var changed = Assert.Single(afterMessage.Changed);
        Assert.Equal((conversations[1], 2L, 2L), (changed.ConversationId, changed.LastSeq, changed.UnreadCount));
        Assert.Equal("again", changed.LastMessage!.Text);

        await user.MarkReadAsync(conversations[2], 1);
        await user.UpdateConversationSettingsAsync(conversations[0], new ConversationSettings(Pinned: true, Draft: "half-typed"));
        var afterRead = await user.SyncAsync(afterMessage.Version);
        Assert.Equal([conversations[2], conversations[0]], afterRead.Changed.Select(e => e.ConversationId));
        Assert.Equal((1L, 0L), (afterRead.Changed[0].ReadSeq, afterRead.Changed[0].UnreadCount));
        Assert.Equal((true, "half-typed"), (afterRead.Changed[1].Pinned, afterRead.Changed[1].Draft));
        Assert.Empty((await user.SyncAsync(afterRead.Version)).Changed);
    }

    [Fact]
    public async Task A_long_draft_is_cut_on_a_character_boundary_and_a_draft_with_a_nul_is_refused()
    {
        var me = Ids.User("drafter");
        var peer = Ids.User("peer");
        var conversationId = GrainKeys.P2P(me, peer);
        await Client.SendTextAsync(conversationId, peer, "hello");
        var user = Client.GetGrain<IUserGrain>(me);
        await Eventually.UntilAsync(() => user.SyncAsync(0), r => r.Changed.Any(e => e.ConversationId == conversationId));

        // The cut at MaxDraftLength falls between the halves of the emoji: it must not keep the first half, which
        // cannot be encoded and failed the save of the row.
        var draft = new string('a', ConversationSettings.MaxDraftLength - 1) + "\uD83D\uDE00";
        var entry = await user.UpdateConversationSettingsAsync(conversationId, new ConversationSettings(Draft: draft));

        Assert.Equal(new string('a', ConversationSettings.MaxDraftLength - 1), entry?.Draft);
        Assert.Null(await user.UpdateConversationSettingsAsync(conversationId, new ConversationSettings(Draft: "nul \0")));
        Assert.Equal(entry?.Draft, (await user.SyncAsync(0)).Changed.Single(e => e.ConversationId == conversationId).Draft);
    }

    [Fact]
    public async Task The_senders_other_device_sees_the_sent_message_and_own_messages_count_as_read()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, bob, "hi alice");
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice, "phone");
        await using var aliceLaptop = await DeviceProbe.ConnectAsync(Client, alice, "laptop");
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob, "phone");

        var sent = await Client.SendTextAsync(conversationId, alice, "hi bob", deviceId: "phone");

        var onLaptop = await aliceLaptop.WaitForAsync<MessageEvent>(e => e.Seq == sent.Seq);
        Assert.Equal(("hi bob", alice, "phone"), (onLaptop.Message.Content!.Text, onLaptop.Message.SenderId, onLaptop.Message.SenderDeviceId));
        await bobPhone.WaitForAsync<MessageEvent>(e => e.Seq == sent.Seq);
        var aliceEntry = await Client.GetGrain<IUserGrain>(alice).GetConversationAsync(conversationId);
        Assert.Equal((2L, 2L, 0L), (aliceEntry!.LastSeq, aliceEntry.ReadSeq, aliceEntry.UnreadCount));
    }

    [Fact]
    public async Task A_read_that_could_not_be_stored_answers_unavailable_and_its_retry_stores_it_and_sends_the_receipt()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, alice, "m1");
        await Client.SendTextAsync(conversationId, alice, "m2");
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);
        var bobStorage = GrainId.Create("user", bob);

        fixture.StorageFaults.Fail(bobStorage);
        var failed = await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 2);
        Assert.Equal((AccessStatus.Unavailable, null), (failed.Status, failed.Entry));
        Assert.True(fixture.StorageFaults.Heal(bobStorage) > 0);

        var retried = await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 2);
        Assert.Equal((AccessStatus.Ok, 2L, 0L), (retried.Status, retried.Entry!.ReadSeq, retried.Entry.UnreadCount));
        var receipt = await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.ConversationId == conversationId);
        Assert.Equal((bob, 2L), (receipt.ReaderId, receipt.Seq));
    }

    [Fact]
    public async Task A_settings_change_that_could_not_be_stored_fails_as_unavailable_not_as_no_such_conversation()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, alice, "m1");
        var bobStorage = GrainId.Create("user", bob);
        var user = Client.GetGrain<IUserGrain>(bob);

        fixture.StorageFaults.Fail(bobStorage);
        await Assert.ThrowsAsync<StorageUnavailableException>(() => user.UpdateConversationSettingsAsync(conversationId, new ConversationSettings(Pinned: true)));
        Assert.True(fixture.StorageFaults.Heal(bobStorage) > 0);

        var retried = await user.UpdateConversationSettingsAsync(conversationId, new ConversationSettings(Pinned: true));
        Assert.True(retried!.Pinned);
    }

    [Fact]
    public async Task Reading_on_one_device_updates_the_others_and_sends_the_peer_a_read_receipt()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        for (var i = 0; i < 3; i++)
        {
            await Client.SendTextAsync(conversationId, alice, $"m{i}");
        }

        await using var bobLaptop = await DeviceProbe.ConnectAsync(Client, bob, "laptop");
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);

        var entry = (await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 2)).Entry;

        Assert.Equal((2L, 1L), (entry!.ReadSeq, entry.UnreadCount));
        var update = await bobLaptop.WaitForAsync<ConversationUpdatedEvent>(e => e.Entry.ReadSeq == 2);
        Assert.Equal(1, update.Entry.UnreadCount);
        var receipt = await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.ConversationId == conversationId);
        Assert.Equal((bob, 2L), (receipt.ReaderId, receipt.Seq));
        Assert.Equal(2, (await Client.GetGrain<IUserGrain>(alice).GetConversationAsync(conversationId))!.PeerReadSeq);

        // The read position never moves back, and cannot pass the end of the log.
        Assert.Equal(2, (await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 1)).Entry!.ReadSeq);
        var capped = (await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 99)).Entry;
        Assert.Equal((3L, 0L), (capped!.ReadSeq, capped.UnreadCount));
        await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.Seq == 3);

        // Receipts are one-way and may arrive out of order: a late one for an earlier position is not pushed, so devices
        // never show the peer's read mark going back. The next real one still is.
        await Client.GetGrain<IUserGrain>(alice).OnReadReceiptAsync(conversationId, bob, 1);
        await Client.SendTextAsync(conversationId, alice, "m3");
        await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 4);
        await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.Seq == 4);
        Assert.Equal([2L, 3L, 4L], alicePhone.Events.OfType<ReadReceiptEvent>().Select(e => e.Seq));
    }

    [Fact]
    public async Task A_reply_made_without_opening_the_conversation_shows_the_users_messages_read()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, alice, "m1");
        await Client.SendTextAsync(conversationId, alice, "m2");
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);

        // Bob answers from a notification: his client marks nothing read. His reply says he read alice's two.
        Assert.Equal(3, (await Client.SendTextAsync(conversationId, bob, "ok")).Seq);
        var receipt = await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.ConversationId == conversationId);
        Assert.Equal((bob, 3L), (receipt.ReaderId, receipt.Seq));
        Assert.Equal(3, (await Client.GetGrain<IUserGrain>(alice).GetConversationAsync(conversationId))!.PeerReadSeq);

        // More of his own say nothing new on her screen: the position follows without a receipt each; his later mark of
        // what his replies already read is not news either.
        await Client.SendTextAsync(conversationId, bob, "see you");
        await Eventually.UntilAsync(() => Client.GetGrain<IUserGrain>(alice).GetConversationAsync(conversationId), e => e!.PeerReadSeq == 4);
        await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 4);
        await Client.SendTextAsync(conversationId, alice, "m5");
        await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 5);
        await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.Seq == 5);
        Assert.Equal([3L, 5L], alicePhone.Events.OfType<ReadReceiptEvent>().Select(e => e.Seq));
    }

    [Fact]
    public async Task A_users_own_message_whose_notice_was_lost_is_read_when_a_sync_finds_it()
    {
        var (owner, members) = (Ids.User("owner"), new[] { Ids.User("m"), Ids.User("m") });
        var group = await Client.CreateGroupAsync(owner, members);
        var user = Client.GetGrain<IUserGrain>(members[0]);
        await user.SyncAsync(0);

        // The notice of the user's own message is lost (with a silo, say): the next sync finds it at the group's head.
        // Before, it counted there as unread, to its own sender.
        var first = await Client.SendTextAsync(group, members[1], "first");
        // Its notice told first (fan-out follows the ack): the one dropped below is the user's own message's.
        await Eventually.UntilAsync(() => user.GetConversationAsync(group), e => e?.LastSeq == first.Seq);
        var lost = fixture.CallHolds.DropNext(GrainId.Create("user", members[0]), nameof(IUserGrain.OnMessageAsync));
        var sent = await Client.SendTextAsync(group, members[0], "mine");
        await lost.WaitAsync(TimeSpan.FromSeconds(10));
        var entry = (await user.SyncAsync(0)).Changed.Single(e => e.ConversationId == group);
        Assert.Equal((sent.Seq, sent.Seq, 0L), (entry.LastSeq, entry.ReadSeq, entry.UnreadCount));
    }

    [Fact]
    public async Task A_reader_who_blocks_the_peer_sends_them_no_read_receipt()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, alice, "m0");
        await Client.SendTextAsync(conversationId, alice, "m1");
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);

        // Bob blocked alice, then opens their old chat: she is not shown that he is active.
        await Client.Conversation(conversationId).SetBlockedAsync(bob, true);
        await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 1);
        await Client.Conversation(conversationId).SetBlockedAsync(bob, false);
        await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 2);

        await alicePhone.WaitForAsync<ReadReceiptEvent>(e => e.Seq == 2);
        Assert.Equal([2L], alicePhone.Events.OfType<ReadReceiptEvent>().Select(e => e.Seq));
    }

    [Fact]
    public async Task Groups_report_how_many_members_read_a_message()
    {
        var owner = Ids.User("owner");
        var members = Enumerable.Range(0, 4).Select(i => Ids.User($"m{i}")).ToArray();
        var conversationId = await Client.CreateGroupAsync(owner, members);
        var sent = await Client.SendTextAsync(conversationId, owner, "please read");

        await Client.GetGrain<IUserGrain>(members[0]).MarkReadAsync(conversationId, sent.Seq);
        await Client.GetGrain<IUserGrain>(members[1]).MarkReadAsync(conversationId, sent.Seq);

        // The conversation hears of reads one-way: allow it a moment.
        var count = await Eventually.ReturnsAsync(() => Client.Conversation(conversationId).GetReadCountAsync(members[2], sent.Seq), c => c.ReadBy >= 2);
        Assert.Equal((AccessStatus.Ok, 2), count);
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        Assert.Equal((AccessStatus.Ok, 2), await Client.Conversation(conversationId).GetReadCountAsync(owner, sent.Seq));

        // A member who joined later starts at the head: not a reader of what was said before.
        var late = Ids.User("late");
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(conversationId).AddMembersAsync(owner, [late])).Status);
        Assert.Equal((AccessStatus.Ok, 2), await Client.Conversation(conversationId).GetReadCountAsync(owner, sent.Seq));
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        Assert.Equal((AccessStatus.Ok, 2), await Client.Conversation(conversationId).GetReadCountAsync(owner, sent.Seq));
    }

    [Fact]
    public async Task A_large_group_pushes_to_online_members_at_once_and_every_entry_catches_up_at_sync()
    {
        const int GroupSize = 300;
        var owner = Ids.User("owner");
        var members = Enumerable.Range(1, GroupSize - 1).Select(i => Ids.User($"m{i}")).ToArray();
        var conversationId = await Client.CreateGroupAsync(owner, members);
        var online = members.Take(20).ToArray();
        var offline = members.Skip(20).ToArray();
        var devices = await Task.WhenAll(online.Select(m => DeviceProbe.ConnectAsync(Client, m)));
        try
        {
            var sent = await Client.SendTextAsync(conversationId, owner, "to everyone");

            // Online members' devices are pushed the message at once (straight to their edges, not through their user
            // grains, so their entries wait for the sync like everybody's) ...
            await Task.WhenAll(devices.Select(d => d.WaitForAsync<MessageEvent>(e => e.Seq == sent.Seq)));
            var sample = offline.Take(30).ToArray();
            foreach (var member in sample.Concat(online.Take(5)))
            {
                Assert.Equal(0, (await Client.GetGrain<IUserGrain>(member).GetConversationAsync(conversationId))!.LastSeq);
            }

            // ... and every entry, online or not, catches up when its user syncs.
            foreach (var member in sample.Concat(online))
            {
                var sync = await Client.GetGrain<IUserGrain>(member).SyncAsync(0);
                var entry = Assert.Single(sync.Changed, e => e.ConversationId == conversationId);
                // Unread: the group's notice that it was created, and the message.
                Assert.Equal((sent.Seq, 2L, "to everyone"), (entry.LastSeq, entry.UnreadCount, entry.LastMessage!.Text));
            }
        }
        finally
        {
            foreach (var device in devices)
            {
                await device.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task A_large_groups_offline_members_learn_at_sync_that_an_earlier_message_was_recalled()
    {
        const int GroupSize = 150;
        var owner = Ids.User("owner");
        var members = Enumerable.Range(1, GroupSize - 1).Select(i => Ids.User($"m{i}")).ToArray();
        var conversationId = await Client.CreateGroupAsync(owner, members);
        var spam = await Client.SendTextAsync(conversationId, members[0], "cheap watches");
        await Client.SendTextAsync(conversationId, owner, "welcome");
        var reader = Client.GetGrain<IUserGrain>(members[1]);
        var before = Assert.Single((await reader.SyncAsync(0)).Changed, e => e.ConversationId == conversationId);
        Assert.Null(before.ChangedAt);

        // Removed by the owner while the member is offline: read diffusion tells only online members. A restart of the
        // group in between: the time of the change is read back from the log.
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(owner, spam.Seq));
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        var changes = await Client.Conversation(conversationId).PullChangesAsync(members[1], DateTimeOffset.UnixEpoch, 10);
        var recalled = Assert.Single(changes.Messages);

        var after = Assert.Single((await reader.SyncAsync(before.Version)).Changed, e => e.ConversationId == conversationId);
        Assert.Equal((recalled.RevisedAt, MessageState.Recalled, "welcome"), (after.ChangedAt, recalled.State, after.LastMessage!.Text));
    }
}
