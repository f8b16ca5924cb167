using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Users;

/// <summary>
/// An entry's unread count is what there is left to read: messages recalled, deleted for the user or superseded while
/// unread stop counting, once, and stay uncounted across the user grain's reactivation.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class UnreadCountTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_message_recalled_while_unread_stops_counting_once_and_the_devices_hear_the_new_count()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);
        var sent = new List<SendResult>();
        foreach (var text in new[] { "one", "two", "three" })
        {
            sent.Add(await Client.SendTextAsync(conversationId, alice, text));
        }

        await EntryWhenAsync(bob, conversationId, e => e.LastSeq == 3);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(alice, sent[1].Seq));

        var recounted = await bobPhone.WaitForAsync<ConversationUpdatedEvent>(e => e.ConversationId == conversationId && e.Entry.UnreadCount == 2);
        Assert.Equal((3L, 0L), (recounted.Entry.LastSeq, recounted.Entry.ReadSeq));
        Assert.Equal(2, (await EntryAsync(bob, conversationId))!.UnreadCount);

        // Told twice (a conversation announcing its recent changes again): it stops counting once.
        var recalled = (await Client.PullAllAsync(conversationId, bob)).Single(m => m.Seq == sent[1].Seq);
        await Client.GetGrain<IUserGrain>(bob).OnMessageChangedAsync(recalled, alice);
        Assert.Equal(2, (await EntryAsync(bob, conversationId))!.UnreadCount);

        // Stored: a new activation, which squares the entry with the log, keeps it uncounted.
        await fixture.Cluster.DeactivateAsync(Client.GetGrain<IUserGrain>(bob));
        Assert.Equal(2, (await EntryAsync(bob, conversationId))!.UnreadCount);
        await using var bobTablet = await DeviceProbe.ConnectAsync(Client, bob, "tablet");
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, alice, "four")).Status);
        await EntryWhenAsync(bob, conversationId, e => e.LastSeq == 4);
        Assert.Equal(3, (await EntryAsync(bob, conversationId))!.UnreadCount);

        // A message already read changes nothing when recalled; reading past a recalled one leaves nothing behind.
        Assert.Equal(AccessStatus.Ok, (await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 1)).Status);
        Assert.Equal(2, (await EntryAsync(bob, conversationId))!.UnreadCount);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(alice, sent[0].Seq));
        await bobTablet.WaitForAsync<MessageChangedEvent>(e => e.Seq == sent[0].Seq);
        Assert.Equal(2, (await EntryAsync(bob, conversationId))!.UnreadCount);
        Assert.Equal(AccessStatus.Ok, (await Client.GetGrain<IUserGrain>(bob).MarkReadAsync(conversationId, 4)).Status);
        Assert.Equal(0, (await EntryAsync(bob, conversationId))!.UnreadCount);
        Assert.Equal("[]", await StoredUncountedAsync(bob, conversationId));
    }

    [Fact]
    public async Task A_message_deleted_for_self_while_unread_stops_counting_for_that_user_only()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var first = await Client.SendTextAsync(conversationId, alice, "hi");
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, alice, "spam")).Status);
        await EntryWhenAsync(bob, conversationId, e => e.LastSeq == 2);

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).DeleteForSelfAsync(bob, 2));

        await EntryWhenAsync(bob, conversationId, e => e.UnreadCount == 1);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).DeleteForSelfAsync(alice, first.Seq));
        await Task.Delay(200); // a change for alice alone: bob's count must not move
        Assert.Equal(1, (await EntryAsync(bob, conversationId))!.UnreadCount);
    }

    [Fact]
    public async Task Notifications_superseded_while_unread_count_once_per_collapse_key_and_devices_are_told_they_collapsed()
    {
        var system = Ids.User("system");
        var user = Ids.User("user");
        var conversationId = GrainKeys.P2P(system, user);
        await using var phone = await DeviceProbe.ConnectAsync(Client, user);
        foreach (var (key, text) in new[] { ("order-1", "paid"), ("order-1", "shipped"), ("order-2", "paid"), ("order-1", "delivered") })
        {
            var result = await Client.Conversation(conversationId).SendAsync(new SendRequest(system, null, Ids.ClientMsgId(),
                MessageContent.FromText(text), MessageClass.Notification, key));
            Assert.Equal(SendStatus.Sent, result.Status);
        }

        // Two left to read, "delivered" (order 1) and "paid" (order 2); the page showing "paid" and "shipped" for order 1
        // hears they collapsed.
        var entry = await EntryWhenAsync(user, conversationId, e => e.LastSeq == 4 && e.UnreadCount == 2);
        Assert.Equal("delivered", entry.LastMessage?.Text);
        foreach (var seq in new[] { 1L, 2L })
        {
            var collapsed = await phone.WaitForAsync<MessageChangedEvent>(e => e.ConversationId == conversationId && e.Seq == seq);
            // A revision of its own: a client taking changes by revision takes it over the notification as first pushed.
            Assert.Equal((MessageState.Collapsed, (string?)null, system, 1), (collapsed.Message.State, collapsed.Message.Content?.Text, collapsed.ActorId, collapsed.Message.Revision));
        }

        Assert.Single(phone.Events.OfType<MessageChangedEvent>(), e => e.Seq == 1);
        await fixture.Cluster.DeactivateAsync(Client.GetGrain<IUserGrain>(user));
        Assert.Equal(2, (await EntryAsync(user, conversationId))!.UnreadCount);
    }

    [Fact]
    public async Task An_official_account_subscriber_who_was_offline_counts_only_what_is_left_to_read_at_sync()
    {
        var account = Ids.User("pub");
        var conversationId = GrainKeys.PublicAccount(account);
        var conversation = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, await conversation.SetupPublicAccountAsync("Deliveries", []));
        var subscriber = Ids.User("reader");
        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(subscriber));
        var before = await Client.GetGrain<IUserGrain>(subscriber).SyncAsync(0);

        // Read diffusion: the offline subscriber's entry is not told of any of these; its sync asks the account.
        var digest = await Client.SendTextAsync(conversationId, account, "weekly digest");
        foreach (var text in new[] { "parcel on its way", "parcel delivered" })
        {
            var result = await conversation.SendAsync(new SendRequest(account, null, Ids.ClientMsgId(),
                MessageContent.FromText(text), MessageClass.Notification, "parcel"));
            Assert.Equal(SendStatus.Sent, result.Status);
        }

        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, account, "sale!")).Status);
        Assert.Equal(AccessStatus.Ok, await conversation.RecallAsync(account, digest.Seq));

        var synced = Assert.Single((await Client.GetGrain<IUserGrain>(subscriber).SyncAsync(before.Version)).Changed, e => e.ConversationId == conversationId);
        Assert.Equal((4L, 0L, 2L), (synced.LastSeq, synced.ReadSeq, synced.UnreadCount));

        // Once more, with nothing new: nothing changed (the seqs known not to count are not counted out again).
        var again = await Client.GetGrain<IUserGrain>(subscriber).SyncAsync(synced.Version);
        Assert.DoesNotContain(again.Changed, e => e.ConversationId == conversationId);
        Assert.Equal(2, (await EntryAsync(subscriber, conversationId))!.UnreadCount);
    }

    [Fact]
    public async Task A_recall_whose_notice_never_came_stops_counting_when_the_conversation_tells_its_recent_messages_again()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, alice, "one")).Status);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, alice, "two")).Status);
        await EntryWhenAsync(bob, conversationId, e => e.LastSeq == 2 && e.UnreadCount == 2);

        // Recalled, and the silo gone before anyone was told: stored behind the conversation's back, then a new activation.
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        await log.AppendRevisionAsync(conversationId, 2, 1, MessageState.Recalled, null, alice, DateTimeOffset.UtcNow);
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(conversationId).PullAsync(alice, new PullRequest(0, null, 10))).Status);

        await EntryWhenAsync(bob, conversationId, e => e.UnreadCount == 1);
    }

    [Fact]
    public async Task A_notice_superseded_by_one_nobody_was_told_of_stops_counting_when_the_conversation_tells_them_however_old_it_is()
    {
        var system = Ids.User("system");
        var user = Ids.User("user");
        var conversationId = GrainKeys.P2P(system, user);
        var conversation = Client.Conversation(conversationId);
        Assert.Equal(SendStatus.Sent, (await conversation.SendAsync(new SendRequest(system, null, Ids.ClientMsgId(),
            MessageContent.FromText("paid"), MessageClass.Notification, "order-1"))).Status);
        await EntryWhenAsync(user, conversationId, e => e.LastSeq == 1 && e.UnreadCount == 1);

        // Minutes later its successor is stored, and the silo is gone before anyone was told: the next activation tells
        // the new notice, and that the old one (older than what it tells again by its own time) was superseded.
        fixture.Time.Advance(TimeSpan.FromMinutes(5));
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        await log.AppendRunAsync([new ChatMessage(conversationId, 2, system, null, Ids.ClientMsgId(), MessageClass.Notification,
            MessageContent.FromText("shipped"), fixture.Time.GetUtcNow(), CollapseKey: "order-1")]);
        await fixture.Cluster.DeactivateAsync(conversation);
        Assert.Equal(AccessStatus.Ok, (await conversation.PullAsync(system, new PullRequest(0, null, 10))).Status);

        var entry = await EntryWhenAsync(user, conversationId, e => e.LastSeq == 2 && e.UnreadCount == 1);
        Assert.Equal("shipped", entry.LastMessage?.Text);

        // Recalling a superseded notice changes nothing: it is gone already.
        Assert.Equal(AccessStatus.Ok, await conversation.RecallAsync(system, 1));
        Assert.Equal(MessageState.Collapsed, (await Client.PullAllAsync(conversationId, user))[0].State);
    }

    [Fact]
    public async Task A_change_told_before_its_message_leaves_the_message_uncounted_when_it_comes()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var first = await Client.SendTextAsync(conversationId, alice, "one");
        await EntryWhenAsync(bob, conversationId, e => e.LastSeq == 1);

        // One-way calls keep no order: the recall of seq 2 may come to bob's grain before seq 2 itself.
        var recalled = new ChatMessage(conversationId, 2, alice, null, Ids.ClientMsgId(), MessageClass.Persistent, null,
            first.ServerTime, State: MessageState.Recalled, Revision: 1);
        await Client.GetGrain<IUserGrain>(bob).OnMessageChangedAsync(recalled, alice);
        Assert.Equal(1, (await EntryAsync(bob, conversationId))!.UnreadCount);

        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, alice, "two")).Status);
        var entry = await EntryWhenAsync(bob, conversationId, e => e.LastSeq == 2);
        Assert.Equal(1, entry.UnreadCount);
    }

    /// <summary>The user's entry once <paramref name="expected"/> holds for it (told by one-way calls); fails the test if it never does.</summary>
    private async Task<ConversationEntry> EntryWhenAsync(string userId, string conversationId, Func<ConversationEntry, bool> expected)
    {
        var entry = await Eventually.ReturnsAsync(() => EntryAsync(userId, conversationId), e => e is not null && expected(e));
        Assert.True(entry is not null && expected(entry), $"{userId}'s entry is {entry?.ToString() ?? "missing"}");
        return entry!;
    }

    private Task<ConversationEntry?> EntryAsync(string userId, string conversationId) =>
        Client.GetGrain<IUserGrain>(userId).GetConversationAsync(conversationId);

    /// <summary>The stored seqs that do not count, as JSON ("[]" for none).</summary>
    private async Task<string> StoredUncountedAsync(string userId, string conversationId)
    {
        await using var command = fixture.DataSource.CreateCommand(
            "SELECT coalesce(uncounted::text, '[]') FROM user_conversations WHERE user_id = @u AND conversation_id = @c");
        command.Parameters.AddWithValue("u", userId);
        command.Parameters.AddWithValue("c", conversationId);
        return (string)(await command.ExecuteScalarAsync())!;
    }
}
