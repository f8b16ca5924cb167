using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.PublicAccounts;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class PublicAccountTests(ClusterFixture fixture)
{
    private const int Subscribers = 5000;
    private const int Online = 200;
    private const int OfflineSampled = 50;

    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_broadcast_to_5000_subscribers_is_stored_once_pushed_to_online_subscribers_and_found_by_offline_ones_at_sync()
    {
        var (account, conversationId, @operator) = await NewAccountAsync();
        var subscribers = Enumerable.Range(0, Subscribers).Select(i => Ids.User("s")).ToList();
        var online = subscribers.Take(Online).ToList();
        var offline = subscribers.Skip(Online).ToList();

        // Online ones connect first, so that subscribing tells the account they are online.
        var probes = await Task.WhenAll(online.Select(u => DeviceProbe.ConnectAsync(Client, u)));
        try
        {
            await SubscribeAllAsync(conversationId, subscribers);
            Assert.Equal(Subscribers, (await Client.Conversation(conversationId).GetPublicAccountAsync())!.SubscriberCount);
            var rowsBefore = await CountAsync("SELECT count(*) FROM user_conversations WHERE conversation_id = @c", conversationId);

            var sent = await Client.Conversation(conversationId).SendAsync(
                new SendRequest(@operator, "console", Ids.ClientMsgId(), MessageContent.FromText("weekly digest")));
            Assert.Equal((SendStatus.Sent, 1L), (sent.Status, sent.Seq));

            // Online: pushed at once, once each, as the account (never naming the operator).
            foreach (var probe in probes)
            {
                var pushed = await probe.WaitForAsync<MessageEvent>(e => e.ConversationId == conversationId && e.Seq == 1);
                Assert.Equal((account, null), (pushed.Message.SenderId, pushed.Message.ActingSenderId));
            }

            await Task.Delay(200); // a duplicate push would show up by now
            Assert.All(probes, p => Assert.Single(p.Events.OfType<MessageEvent>(), e => e.ConversationId == conversationId));

            // Storage grew by one message, and no entry of an offline subscriber was written for it.
            Assert.Equal(1, await CountAsync("SELECT count(*) FROM messages WHERE conversation_id = @c", conversationId));
            Assert.Equal(rowsBefore, await CountAsync("SELECT count(*) FROM user_conversations WHERE conversation_id = @c", conversationId));
            await using (var command = fixture.DataSource.CreateCommand(
                "SELECT count(*) FROM user_conversations WHERE conversation_id = @c AND last_seq > 0 AND user_id = ANY(@offline)"))
            {
                command.Parameters.AddWithValue("c", conversationId);
                command.Parameters.AddWithValue("offline", offline.ToArray());
                Assert.Equal(0L, (long)(await command.ExecuteScalarAsync())!);
            }

            // Offline: their next sync brings the entry to the broadcast, unread, and they pull it.
            foreach (var user in offline.Take(OfflineSampled))
            {
                var sync = await Client.GetGrain<IUserGrain>(user).SyncAsync(0);
                var entry = Assert.Single(sync.Changed, e => e.ConversationId == conversationId);
                Assert.Equal((1L, 1L, "weekly digest", ConversationKind.PublicAccount), (entry.LastSeq, entry.UnreadCount, entry.LastMessage?.Text, entry.Kind));
            }

            var pulled = Assert.Single(await Client.PullAllAsync(conversationId, offline[0]));
            Assert.Equal((account, "weekly digest", (string?)null), (pulled.SenderId, pulled.Content?.Text, pulled.ActingSenderId));
        }
        finally
        {
            await Task.WhenAll(probes.Select(p => p.DisposeAsync().AsTask()));
        }
    }

    [Fact]
    public async Task Only_operators_broadcast_and_subscribers_start_at_the_head_and_leave_cleanly()
    {
        var (account, conversationId, @operator) = await NewAccountAsync();
        var (early, late, stranger) = (Ids.User("early"), Ids.User("late"), Ids.User("stranger"));
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).SubscribeAsync(early));

        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(conversationId, early, "subscribers do not broadcast")).Status);
        Assert.Equal(SendStatus.NoAccess, (await Client.SendTextAsync(conversationId, stranger, "nor strangers")).Status);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, @operator, "first")).Status);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, account, "second, by the account itself")).Status);

        // A late subscriber's list starts at the head: earlier broadcasts are history, not unread.
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).SubscribeAsync(late));
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).SubscribeAsync(late));
        var lateEntry = Assert.Single((await Client.GetGrain<IUserGrain>(late).SyncAsync(0)).Changed, e => e.ConversationId == conversationId);
        Assert.Equal((2L, 2L, 0L), (lateEntry.LastSeq, lateEntry.ReadSeq, lateEntry.UnreadCount));
        Assert.Equal(2, (await Client.PullAllAsync(conversationId, late)).Count);
        var earlySync = await Client.GetGrain<IUserGrain>(early).SyncAsync(0);
        Assert.Equal(2, earlySync.Changed.Single(e => e.ConversationId == conversationId).UnreadCount);

        // The last broadcast is recalled while the subscriber is offline (only online ones are told): their next sync
        // must not keep showing its text in the list.
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).RecallAsync(account, 2));
        var recalled = Assert.Single((await Client.GetGrain<IUserGrain>(early).SyncAsync(earlySync.Version)).Changed, e => e.ConversationId == conversationId);
        Assert.Equal((2L, MessageState.Recalled, (string?)null), (recalled.LastSeq, recalled.LastMessage?.State, recalled.LastMessage?.Text));

        // The subscription survives the account's deactivation (it is a row, not grain memory).
        Assert.Equal([early, late], (await Client.Conversation(conversationId).ListSubscribersAsync(null, 10)).Order(StringComparer.Ordinal));
        Assert.Equal([late], await Client.Conversation(conversationId).FilterSubscribersAsync([late, stranger]));

        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).UnsubscribeAsync(early));
        Assert.True((await Client.GetGrain<IUserGrain>(early).SyncAsync(0)).Changed.Single(e => e.ConversationId == conversationId).Removed);
        Assert.Equal(AccessStatus.NoAccess, (await Client.Conversation(conversationId).PullAsync(early, new PullRequest(0, null, 10))).Status);
        Assert.Equal(1L, await CountAsync("SELECT count(*) FROM public_account_subscriptions WHERE account_id = @c", account));
        Assert.Equal(AccessStatus.NoAccess, await Client.Conversation(GrainKeys.PublicAccount(Ids.User("none"))).SubscribeAsync(early));
    }

    [Fact]
    public async Task An_operator_edits_and_recalls_their_own_broadcast_and_not_another_operators()
    {
        var (account, conversationId, first) = await NewAccountAsync();
        var second = Ids.User("op");
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).SetupPublicAccountAsync("Daily News", [first, second]));
        var subscriber = Ids.User("reader");
        var conversation = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(subscriber));
        await using var reader = await DeviceProbe.ConnectAsync(Client, subscriber);
        var sent = await Client.SendTextAsync(conversationId, first, "tomorrow's digest is late");
        Assert.Equal(SendStatus.Sent, sent.Status);

        // Stored in the account's name, written by the first operator: theirs to change, not their colleague's.
        Assert.Equal(AccessStatus.NotAllowed, await conversation.EditAsync(second, sent.Seq, MessageContent.FromText("not mine")));
        Assert.Equal(AccessStatus.NotAllowed, await conversation.RecallAsync(second, sent.Seq));
        Assert.Equal(AccessStatus.Ok, await conversation.EditAsync(first, sent.Seq, MessageContent.FromText("tomorrow's digest is on time")));
        var pulled = Assert.Single(await Client.PullAllAsync(conversationId, account));
        Assert.Equal((account, first, "tomorrow's digest is on time", MessageState.Edited), (pulled.SenderId, pulled.ActingSenderId, pulled.Content?.Text, pulled.State));

        // A subscriber is told of the change as the account's: who wrote it is not shown to subscribers, nor who changed it.
        var changed = await reader.WaitForAsync<MessageChangedEvent>(e => e.Seq == sent.Seq);
        Assert.Equal((account, (string?)null), (changed.ActorId, changed.Message.ActingSenderId));

        // Removed from the account (a subscriber now, no operator), the writer changes it no more.
        Assert.Equal(AccessStatus.Ok, await conversation.SetupPublicAccountAsync("Daily News", [second]));
        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(first));
        Assert.Equal(AccessStatus.NotAllowed, await conversation.EditAsync(first, sent.Seq, MessageContent.FromText("still mine?")));
        Assert.Equal(AccessStatus.NotAllowed, await conversation.RecallAsync(first, sent.Seq));
        Assert.Equal(AccessStatus.Ok, await conversation.RecallAsync(account, sent.Seq));
        Assert.Equal(MessageState.Recalled, Assert.Single(await Client.PullAllAsync(conversationId, account)).State);

        // Past the recall window the operator may no longer take their broadcast back; the account itself still may.
        var late = await Client.SendTextAsync(conversationId, second, "the wrong date");
        fixture.Time.Advance(new ConversationOptions().RecallWindow + TimeSpan.FromSeconds(1));
        Assert.Equal(AccessStatus.NotAllowed, await conversation.RecallAsync(second, late.Seq));
        Assert.Equal(AccessStatus.Ok, await conversation.RecallAsync(account, late.Seq));
        Assert.Equal(MessageState.Recalled, (await Client.PullAllAsync(conversationId, account)).Single(m => m.Seq == late.Seq).State);
    }

    [Fact]
    public async Task The_subscriber_list_is_paged_in_id_order_from_any_id()
    {
        var (_, conversationId, _) = await NewAccountAsync();
        var users = Enumerable.Range(0, 30).Select(i => Ids.User($"reader{i}")).ToList();
        await SubscribeAllAsync(conversationId, users);
        var conversation = Client.Conversation(conversationId);

        var paged = new List<string>();
        string? after = null;
        for (var pages = 0; pages < users.Count; pages++)
        {
            var page = await conversation.ListSubscribersAsync(after, 7);
            if (page.Count == 0)
            {
                break;
            }

            paged.AddRange(page);
            after = page[^1];
        }

        var sorted = users.Order(StringComparer.Ordinal).ToList();
        Assert.Equal(sorted, paged);
        // After an id that is not a subscriber, and after the last one.
        Assert.Equal(sorted.Skip(10).Take(3), await conversation.ListSubscribersAsync(sorted[9] + "!", 3));
        Assert.Empty(await conversation.ListSubscribersAsync(sorted[^1], 5));
        Assert.Empty(await conversation.ListSubscribersAsync("\uffff", 5));
    }

    [Fact]
    public async Task An_unsubscribe_stands_and_is_answered_ok_when_the_users_grain_cannot_be_told_and_a_resubscribe_starts_at_the_head()
    {
        var (account, conversationId, _) = await NewAccountAsync();
        var reader = Ids.User("reader");
        var conversation = Client.Conversation(conversationId);
        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(reader));
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, account, "read before leaving")).Status);
        var user = Client.GetGrain<IUserGrain>(reader);
        Assert.Equal(1L, Assert.Single((await user.SyncAsync(0)).Changed, e => e.ConversationId == conversationId).LastSeq);
        Assert.Equal(AccessStatus.Ok, (await user.MarkReadAsync(conversationId, 1)).Status);

        // The reader's grain was collected, and its storage cannot be reached now.
        await fixture.Cluster.DeactivateAsync(Client.GetGrain<IUserGrain>(reader));
        var userGrain = GrainId.Create("user", reader);
        fixture.StorageFaults.Fail(userGrain);
        try
        {
            // Before, the caller got an error for an unsubscribe that was done (the row deleted).
            Assert.Equal(AccessStatus.Ok, await conversation.UnsubscribeAsync(reader));
        }
        finally
        {
            fixture.StorageFaults.Heal(userGrain);
        }

        Assert.Empty(await conversation.FilterSubscribersAsync([reader]));
        Assert.Equal(AccessStatus.NoAccess, (await conversation.PullAsync(reader, new PullRequest(0, null, 10))).Status);

        // Broadcasts while the reader is away; the reader's grain still has the entry (the removal never reached it)
        // when they subscribe again: the new subscription starts at the head, what came meanwhile is history.
        for (var i = 0; i < 3; i++)
        {
            Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, account, $"while away {i}")).Status);
        }

        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(reader));
        var entry = Assert.Single((await user.SyncAsync(0)).Changed, e => e.ConversationId == conversationId);
        Assert.Equal((4L, 4L, 0L, false), (entry.LastSeq, entry.ReadSeq, entry.UnreadCount, entry.Removed));
    }

    [Fact]
    public async Task A_subscribe_whose_entry_could_not_be_made_is_undone_so_the_account_does_not_count_or_reach_the_user()
    {
        var (_, conversationId, _) = await NewAccountAsync();
        var reader = Ids.User("reader");
        var conversation = Client.Conversation(conversationId);

        // The reader's grain never hears of it (the call lost with its silo, say): answered unavailable, and before, the
        // account kept the reader as a subscriber whose list did not have it (no broadcasts, no subscription shown).
        var lost = fixture.CallHolds.DropNext(GrainId.Create("user", reader), nameof(IUserGrain.JoinConversationAnewAtHeadAsync));
        Assert.Equal(AccessStatus.Unavailable, await conversation.SubscribeAsync(reader));
        await lost;
        Assert.Empty(await conversation.FilterSubscribersAsync([reader]));
        Assert.Equal(0, (await conversation.GetPublicAccountAsync())!.SubscriberCount);

        // The retry subscribes.
        Assert.Equal(AccessStatus.Ok, await conversation.SubscribeAsync(reader));
        Assert.Equal([reader], await conversation.FilterSubscribersAsync([reader]));
    }

    private async Task<(string Account, string ConversationId, string Operator)> NewAccountAsync()
    {
        var account = Ids.User("pub");
        var @operator = Ids.User("op");
        var conversationId = GrainKeys.PublicAccount(account);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(conversationId).SetupPublicAccountAsync("Daily News", [@operator]));
        return (account, conversationId, @operator);
    }

    private async Task SubscribeAllAsync(string conversationId, IReadOnlyList<string> users)
    {
        using var gate = new SemaphoreSlim(64);
        var results = await Task.WhenAll(users.Select(async u =>
        {
            await gate.WaitAsync();
            try
            {
                return await Client.Conversation(conversationId).SubscribeAsync(u);
            }
            finally
            {
                gate.Release();
            }
        }));
        Assert.All(results, r => Assert.Equal(AccessStatus.Ok, r));
    }

    private async Task<long> CountAsync(string sql, string key)
    {
        await using var command = fixture.DataSource.CreateCommand(sql);
        command.Parameters.AddWithValue(sql.Contains("@c", StringComparison.Ordinal) ? "c" : "k", key);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
