using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class MessageChangeTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task The_sender_recalls_within_the_window_leaving_a_tombstone_and_a_recall_event()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "oops");
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq));

        var changed = await bobPhone.WaitForAsync<MessageChangedEvent>(e => e.Seq == sent.Seq);
        Assert.Equal(MessageState.Recalled, changed.Message.State);
        Assert.Null(changed.Message.Content);
        var pulled = Assert.Single(await Client.PullAllAsync(conversationId, bob));
        Assert.Equal((sent.Seq, MessageState.Recalled, 1), (pulled.Seq, pulled.State, pulled.Revision));
        Assert.Null(pulled.Content);

        // The tombstone is in the log, not only in memory.
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        var reread = Assert.Single(await Client.PullAllAsync(conversationId, bob));
        Assert.Equal(MessageState.Recalled, reread.State);
        Assert.Null(reread.Content);
    }

    [Fact]
    public async Task A_recall_stored_though_its_answer_was_lost_is_shown_and_told_at_the_next_pull_and_its_retry_is_done()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "oops");
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);

        // A first recall was stored as revision 1, but the grain never heard so: here it is written behind the grain's back,
        // so the grain's own attempt meets revision 1 taken and fails, as it would after a lost answer.
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        await log.AppendRevisionAsync(conversationId, sent.Seq, 1, MessageState.Recalled, null, alice, DateTimeOffset.UtcNow);
        Assert.Equal(AccessStatus.Unavailable, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq));

        // The next pull (anyone's) reads the message back, finds the recall stored, and shows and tells it, though the
        // user never retried.
        var pulled = Assert.Single(await Client.PullAllAsync(conversationId, bob));
        Assert.Equal((MessageState.Recalled, 1, (string?)null), (pulled.State, pulled.Revision, pulled.Content?.Text));
        var changed = await bobPhone.WaitForAsync<MessageChangedEvent>(e => e.Seq == sent.Seq);
        Assert.Equal(MessageState.Recalled, changed.Message.State);

        // The user's retry: done.
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq));
    }

    [Fact]
    public async Task A_delete_for_self_made_while_a_sync_reads_who_hid_messages_stays_deleted()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        var conversation = Client.Conversation(conversationId);
        var sent = await Client.SendTextAsync(conversationId, alice, "x");
        Assert.Equal(SendStatus.Sent, sent.Status);

        // Bob's user grain syncs (head reads interleave) and its read of who hid messages ends after Bob's phone deleted one.
        var (entered, release) = fixture.StorageFaults.HoldNext(FaultyMessageLog.UsersWithHiddenRead(conversationId));
        var head = conversation.GetHeadWithChangesAsync(bob);
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(AccessStatus.Ok, await conversation.DeleteForSelfAsync(bob, sent.Seq));
        release.SetResult();
        await head;

        var pulled = await conversation.PullAsync(bob, new PullRequest(0, null, 50));
        Assert.Equal(MessageState.Deleted, Assert.Single(pulled.Messages).State);
    }

    [Fact]
    public async Task Past_the_recall_window_or_by_another_member_a_recall_is_refused()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "said");

        Assert.Equal(AccessStatus.NotAllowed, await Client.Conversation(conversationId).RecallAsync(bob, sent.Seq));
        fixture.Time.Advance(TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(1));
        Assert.Equal(AccessStatus.NotAllowed, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq));
        Assert.Equal(AccessStatus.NotFound, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq + 1));
        Assert.Equal(MessageState.Normal, Assert.Single(await Client.PullAllAsync(conversationId, bob)).State);
    }

    [Fact]
    public async Task A_recall_retried_past_the_window_after_its_answer_was_lost_is_answered_done()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "wrong chat");
        fixture.Time.Advance(TimeSpan.FromMinutes(1) + TimeSpan.FromSeconds(50));
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq));

        // The retry comes after a reconnect's backoff, past the window: it was done, and is said so; to others it is not theirs.
        fixture.Time.Advance(TimeSpan.FromSeconds(20));
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(alice, sent.Seq));
        Assert.Equal(AccessStatus.NotAllowed, await Client.Conversation(conversationId).RecallAsync(bob, sent.Seq));
        var recalled = Assert.Single(await Client.PullAllAsync(conversationId, bob));
        Assert.Equal((MessageState.Recalled, 1), (recalled.State, recalled.Revision));
    }

    [Fact]
    public async Task A_stored_message_cannot_be_edited_into_a_typing_or_call_signal()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "hello");

        Assert.Equal(AccessStatus.Invalid, await Client.Conversation(conversationId).EditAsync(alice, sent.Seq, TypingIndicator.Content));
        Assert.Equal(AccessStatus.Invalid, await Client.Conversation(conversationId).EditAsync(alice, sent.Seq, new MessageContent(ContentType.Custom, CustomType: CallSignal.CustomType, CustomData: "{}")));
        Assert.Equal((MessageState.Normal, "hello"), Assert.Single(await Client.PullAllAsync(conversationId, bob)) is var m ? (m.State, m.Content!.Text) : default);
    }

    [Fact]
    public async Task A_blocked_sender_cannot_edit_what_they_sent_but_may_recall_it()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, bob, "hi");
        Assert.True(await Client.GetGrain<Accounts.IAccountGrain>(alice).BlockAsync(bob));

        Assert.Equal(AccessStatus.NotAllowed, await Client.Conversation(conversationId).EditAsync(bob, sent.Seq, MessageContent.FromText("abuse")));
        Assert.Equal("hi", Assert.Single(await Client.PullAllAsync(conversationId, alice)).Content!.Text);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(bob, sent.Seq));
    }

    [Fact]
    public async Task Changes_to_any_message_are_listed_after_a_time_and_mark_the_conversation_changed_for_sync()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var conversation = Client.Conversation(conversationId);
        var first = await Client.SendTextAsync(conversationId, alice, "see you at 6");
        var second = await Client.SendTextAsync(conversationId, alice, "my pin is 1234");
        await Client.SendTextAsync(conversationId, alice, "bye");
        var bobs = Client.GetGrain<Orleans.Im.Users.IUserGrain>(bob);
        Assert.Null((await Eventually.ReturnsAsync(() => bobs.GetConversationAsync(conversationId), e => e?.LastSeq == 3))!.ChangedAt);

        // Neither is the last message (the preview does not change), yet the conversation is marked changed.
        Assert.Equal(AccessStatus.Ok, await conversation.EditAsync(alice, first.Seq, MessageContent.FromText("see you at 7")));
        Assert.Equal(AccessStatus.Ok, await conversation.RecallAsync(alice, second.Seq));
        var all = await conversation.PullChangesAsync(bob, DateTimeOffset.MinValue, 10);
        Assert.Equal((AccessStatus.Ok, false), (all.Status, all.HasMore));
        Assert.Equal([(first.Seq, MessageState.Edited, "see you at 7"), (second.Seq, MessageState.Recalled, null)],
            all.Messages.Select(m => (m.Seq, m.State, m.Content?.Text)));
        Assert.True(all.Messages[0].RevisedAt < all.Messages[1].RevisedAt);
        var entry = await Eventually.ReturnsAsync(() => bobs.GetConversationAsync(conversationId), e => e?.ChangedAt == all.Messages[1].RevisedAt);
        Assert.Equal((all.Messages[1].RevisedAt, "bye"), (entry!.ChangedAt, entry.LastMessage!.Text));

        // After the first change only the second; one at a time says more follow; kept when the user grain restarts.
        Assert.Equal([second.Seq], (await conversation.PullChangesAsync(bob, all.Messages[0].RevisedAt!.Value, 10)).Messages.Select(m => m.Seq));
        var one = await conversation.PullChangesAsync(bob, DateTimeOffset.MinValue, 1);
        Assert.Equal([first.Seq], one.Messages.Select(m => m.Seq));
        Assert.True(one.HasMore);
        Assert.Equal(AccessStatus.NoAccess, (await conversation.PullChangesAsync(Ids.User("stranger"), DateTimeOffset.MinValue, 10)).Status);
        Assert.Equal(AccessStatus.Invalid, (await conversation.PullChangesAsync(bob, DateTimeOffset.MinValue, 0)).Status);
        await fixture.Cluster.DeactivateAsync(bobs);
        Assert.Equal(all.Messages[1].RevisedAt, (await bobs.GetConversationAsync(conversationId))!.ChangedAt);
    }

    [Fact]
    public async Task Group_owners_and_admins_recall_any_message_at_any_time()
    {
        var owner = Ids.User("owner");
        var member = Ids.User("member");
        var conversationId = await Client.CreateGroupAsync(owner, member);
        var sent = await Client.SendTextAsync(conversationId, member, "spam");
        fixture.Time.Advance(TimeSpan.FromHours(1));

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(owner, sent.Seq));
        Assert.Equal(MessageState.Recalled, Assert.Single((await Client.PullAllAsync(conversationId, member)).Written()).State);
    }

    [Fact]
    public async Task The_sender_edits_as_a_new_revision_of_the_same_seq_with_an_edit_event()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "teh");
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).EditAsync(alice, sent.Seq, MessageContent.FromText("the")));
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).EditAsync(alice, sent.Seq, MessageContent.FromText("the!")));

        var changed = await bobPhone.WaitForAsync<MessageChangedEvent>(e => e.Message.Revision == 2);
        Assert.Equal("the!", changed.Message.Content!.Text);
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        var pulled = Assert.Single(await Client.PullAllAsync(conversationId, bob));
        Assert.Equal((sent.Seq, MessageState.Edited, 2, "the!"), (pulled.Seq, pulled.State, pulled.Revision, pulled.Content!.Text));
        Assert.Equal(sent.ServerTime, pulled.ServerTime);
    }

    [Fact]
    public async Task Only_the_sender_edits_and_only_within_the_edit_window()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var sent = await Client.SendTextAsync(conversationId, alice, "original");

        Assert.Equal(AccessStatus.NotAllowed, await Client.Conversation(conversationId).EditAsync(bob, sent.Seq, MessageContent.FromText("forged")));
        Assert.Equal(AccessStatus.Invalid, await Client.Conversation(conversationId).EditAsync(alice, sent.Seq, MessageContent.FromText(" ")));
        fixture.Time.Advance(TimeSpan.FromHours(24) + TimeSpan.FromSeconds(1));
        Assert.Equal(AccessStatus.NotAllowed, await Client.Conversation(conversationId).EditAsync(alice, sent.Seq, MessageContent.FromText("late")));
        Assert.Equal("original", Assert.Single(await Client.PullAllAsync(conversationId, bob)).Content!.Text);
    }

    [Fact]
    public async Task Delete_for_self_hides_a_message_from_that_user_only()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        await Client.SendTextAsync(conversationId, alice, "one");
        var second = await Client.SendTextAsync(conversationId, bob, "two");
        await Client.SendTextAsync(conversationId, alice, "three");

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).DeleteForSelfAsync(alice, second.Seq));

        var forAlice = await Client.PullAllAsync(conversationId, alice);
        Assert.Equal([1L, 2L, 3L], forAlice.Select(m => m.Seq));
        Assert.Equal((MessageState.Deleted, (MessageContent?)null), (forAlice[1].State, forAlice[1].Content));
        Assert.Equal("two", (await Client.PullAllAsync(conversationId, bob))[1].Content!.Text);

        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        Assert.Equal(MessageState.Deleted, (await Client.PullAllAsync(conversationId, alice))[1].State);
    }

    [Fact]
    public async Task A_message_deleted_for_self_leaves_the_users_other_devices_and_list_and_a_later_edit_does_not_bring_it_back()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var typo = await Client.SendTextAsync(conversationId, bob, "typo");
        var alices = Client.GetGrain<Orleans.Im.Users.IUserGrain>(alice);
        await Eventually.UntilAsync(() => alices.GetConversationAsync(conversationId), e => e?.LastSeq == typo.Seq);
        await using var alicesTablet = await DeviceProbe.ConnectAsync(Client, alice, "tablet");

        // Deleted on her phone: her tablet is told, and her list no longer previews it.
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).DeleteForSelfAsync(alice, typo.Seq));
        var gone = await alicesTablet.WaitForAsync<MessageChangedEvent>(e => e.Message.Seq == typo.Seq);
        Assert.Equal((MessageState.Deleted, (MessageContent?)null), (gone.Message.State, gone.Message.Content));
        var entry = await Eventually.ReturnsAsync(() => alices.GetConversationAsync(conversationId), e => e?.LastMessage?.State == MessageState.Deleted);
        Assert.Equal((MessageState.Deleted, gone.Message.RevisedAt), (entry!.LastMessage!.State, entry.ChangedAt));

        // Bob fixes it: he and his devices see the edit; to Alice it stays deleted, pushed or fetched later.
        await using var bobsPhone = await DeviceProbe.ConnectAsync(Client, bob);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).EditAsync(bob, typo.Seq, MessageContent.FromText("fixed")));
        await bobsPhone.WaitForAsync<MessageChangedEvent>(e => e.Message.Revision == 1);
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        Assert.DoesNotContain(alicesTablet.Events.OfType<MessageChangedEvent>(), e => e.Message.Content is not null);
        Assert.Equal(MessageState.Deleted, (await alices.GetConversationAsync(conversationId))!.LastMessage!.State);
        var forAlice = Assert.Single((await Client.Conversation(conversationId).PullChangesAsync(alice, DateTimeOffset.UnixEpoch, 10)).Messages);
        Assert.Equal((typo.Seq, MessageState.Deleted, (MessageContent?)null), (forAlice.Seq, forAlice.State, forAlice.Content));
        Assert.Equal("fixed", Assert.Single((await Client.Conversation(conversationId).PullChangesAsync(bob, DateTimeOffset.UnixEpoch, 10)).Messages).Content!.Text);
    }

    [Fact]
    public async Task A_group_message_deleted_for_self_stays_deleted_in_the_list_after_a_sync()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = await Client.CreateGroupAsync(bob, alice);
        var last = await Client.SendTextAsync(conversationId, bob, "regrettable");
        var alices = Client.GetGrain<Orleans.Im.Users.IUserGrain>(alice);
        await Eventually.UntilAsync(() => alices.GetConversationAsync(conversationId), e => e?.LastSeq == last.Seq);

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).DeleteForSelfAsync(alice, last.Seq));
        await Eventually.UntilAsync(() => alices.GetConversationAsync(conversationId), e => e?.LastMessage?.State == MessageState.Deleted);

        // A sync squares group entries with their heads: the head, as this user sees it, is deleted.
        await alices.SyncAsync(0);
        var entry = await alices.GetConversationAsync(conversationId);
        Assert.Equal((MessageState.Deleted, (string?)null), (entry!.LastMessage!.State, entry.LastMessage.Text));
    }
}
