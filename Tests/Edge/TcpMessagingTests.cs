using Orleans.Im.Client;
using Orleans.Im.Protocol.V1;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class TcpMessagingTests(EdgeFixture fixture)
{
    [Fact]
    public async Task Two_users_send_ack_and_receive_and_the_senders_third_device_gets_the_copy()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice, "phone");
        await using var aliceTablet = await fixture.ConnectAsync(alice, "tablet");
        await using var bobPhone = await fixture.ConnectAsync(bob, "phone");

        var ack = await alicePhone.SendTextAsync(conversationId, "hello bob");

        Assert.Equal((SendStatus.Sent, 1L), (ack.Status, ack.Seq));
        var atBob = Assert.Single(await bobPhone.TakeAsync(1));
        Assert.Equal((conversationId, 1L, alice, "hello bob", ack.ServerTimeMs), (atBob.ConversationId, atBob.Seq, atBob.SenderId, atBob.Content.Text, atBob.ServerTimeMs));
        var atTablet = Assert.Single(await aliceTablet.TakeAsync(1));
        Assert.Equal((1L, "phone"), (atTablet.Seq, atTablet.SenderDeviceId));

        // Every device's stream holds the whole conversation in seq order, its own messages included (from the ack).
        var reply = await bobPhone.SendTextAsync(conversationId, "hi alice");
        Assert.Equal(2, reply.Seq);
        Assert.Equal(["hello bob", "hi alice"], (await alicePhone.TakeAsync(2)).Select(m => m.Content.Text));
        Assert.Equal(["hello bob", "hi alice"], (await bobPhone.TakeAsync(1)).Prepend(atBob).Select(m => m.Content.Text));
        await alicePhone.AssertNoMoreAsync();
        await bobPhone.AssertNoMoreAsync();
    }

    [Fact]
    public async Task Sends_pipelined_into_one_busy_group_from_three_devices_are_all_stored_once_with_dense_seqs_in_each_devices_order()
    {
        const int PerDevice = 150;
        var users = Enumerable.Range(0, 3).Select(i => Ids.User($"u{i}")).ToArray();
        var group = await fixture.Orleans.CreateGroupAsync(users[0], users[1..]);
        var devices = await Task.WhenAll(users.Select(u => fixture.ConnectAsync(u, "phone")));
        try
        {
            // Every device sends all its messages without waiting for acks: while one call to the group is under way, the
            // edge queues the others and sends them together (several per call and per commit).
            var acks = await Task.WhenAll(devices.Select(device =>
                Task.WhenAll(Enumerable.Range(0, PerDevice).Select(i => device.SendTextAsync(group, $"{device.UserId} #{i}"))
                    .ToArray())));

            // A send whose ack took longer than the SDK's request timeout (a loaded machine) is resent on a new connection
            // and answered as a duplicate with the seq it was stored at: still stored once, which the seqs below check.
            Assert.All(acks.SelectMany(a => a), ack => Assert.Contains(ack.Status, new[] { SendStatus.Sent, SendStatus.Duplicate }));
            Assert.Equal(Enumerable.Range((int)Chat.FirstGroupMessageSeq, 3 * PerDevice).Select(i => (long)i), acks.SelectMany(a => a).Select(a => a.Seq).Order());
            foreach (var deviceAcks in acks)
            {
                Assert.Equal(deviceAcks.Select(a => a.Seq).Order(), deviceAcks.Select(a => a.Seq));
            }

            var log = (await fixture.Orleans.PullAllAsync(group, users[0])).Written().ToList();
            Assert.Equal(3 * PerDevice, log.Count);
            foreach (var user in users)
            {
                Assert.Equal(Enumerable.Range(0, PerDevice).Select(i => $"{user} #{i}"), log.Where(m => m.SenderId == user).Select(m => m.Content!.Text));
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
    public async Task A_user_offline_while_100_messages_arrive_gets_all_100_in_order_exactly_once_on_reconnect()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        ImClientState state;
        await using (var bobPhone = await fixture.ConnectAsync(bob))
        {
            await alicePhone.SendTextAsync(conversationId, "before");
            Assert.Single(await bobPhone.TakeAsync(1));
            state = bobPhone.SaveState();
        }

        for (var i = 0; i < 100; i++)
        {
            Assert.Equal(SendStatus.Sent, (await alicePhone.SendTextAsync(conversationId, $"while away {i}")).Status);
        }

        await using var bobAgain = await fixture.ConnectAsync(bob, state: state);
        var received = await bobAgain.TakeAsync(100);

        Assert.Equal(Enumerable.Range(2, 100).Select(i => (long)i), received.Select(m => m.Seq));
        Assert.Equal(Enumerable.Range(0, 100).Select(i => $"while away {i}"), received.Select(m => m.Content.Text));
        await bobAgain.AssertNoMoreAsync();
    }

    [Fact]
    public async Task A_phone_away_while_earlier_messages_are_recalled_and_edited_is_told_when_it_reconnects()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        ImClientState state;
        await using (var bobPhone = await fixture.ConnectAsync(bob))
        {
            foreach (var text in new[] { "my pin is 1234", "see you at 6", "bye" })
            {
                await alicePhone.SendTextAsync(conversationId, text);
            }

            Assert.Equal(3, (await bobPhone.TakeAsync(3)).Count);
            state = bobPhone.SaveState();
        }

        // Neither is the last message, and a pull from where the phone stopped would never show them again.
        await alicePhone.RecallAsync(conversationId, 1);
        await alicePhone.EditAsync(conversationId, 2, ClientMessages.Text("see you at 7"));
        // Bob's entry hears of them one-way: the reconnect's sync must find the later one.
        var latest = (await fixture.Orleans.GetGrain<Orleans.Im.Conversations.IConversationGrain>(conversationId).PullChangesAsync(bob, DateTimeOffset.UnixEpoch, 10)).Messages[^1].RevisedAt;
        await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<Orleans.Im.Users.IUserGrain>(bob).GetConversationAsync(conversationId), e => e?.ChangedAt == latest);

        await using var bobAgain = await fixture.ConnectAsync(bob, state: state);
        var changed = new List<Message>();
        using (var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10)))
        {
            while (changed.Count < 2)
            {
                if (await bobAgain.Events.ReadAsync(cts.Token) is { KindCase: Event.KindOneofCase.Changed } pushed)
                {
                    changed.Add(pushed.Changed.Message);
                }
            }
        }

        Assert.Equal([(1L, MessageState.Recalled, ""), (2L, MessageState.Edited, "see you at 7")],
            changed.Select(m => (m.Seq, m.State, m.Content?.Text ?? "")));
        Assert.True(changed[0].RevisedAtMs > 0 && changed[0].RevisedAtMs < changed[1].RevisedAtMs);

        // Seen: a phone starting from this state again is not told them once more.
        var seen = bobAgain.SaveState();
        Assert.Equal(changed[1].RevisedAtMs, seen.ChangesSeenMs![conversationId]);
        await bobAgain.AssertNoMoreAsync();
    }

    [Fact]
    public async Task A_socket_killed_mid_send_is_resent_by_the_sdk_and_stored_once()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var proxy = new LoopbackProxy(fixture.TcpPort);
        await using var alicePhone = fixture.NewClient(alice, port: proxy.Port);
        await alicePhone.ConnectAsync();
        var firstConnection = alicePhone.ConnectionCount;

        // The request reaches the server and is stored, but its ack never reaches the client: the socket dies first.
        proxy.BlackholeDownstream = true;
        var sending = alicePhone.SendTextAsync(conversationId, "exactly once", clientMsgId: "kill-mid-send");
        await Eventually.UntilAsync(
            () => fixture.Orleans.Conversation(conversationId).PullAsync(alice, new Messages.PullRequest()),
            p => p.Messages.Count == 1);
        Assert.False(sending.IsCompleted);
        proxy.DropAll();
        proxy.BlackholeDownstream = false;

        var ack = await sending.WaitAsync(TimeSpan.FromSeconds(20));

        Assert.True(alicePhone.ConnectionCount > firstConnection);
        Assert.Equal((SendStatus.Duplicate, 1L), (ack.Status, ack.Seq));
        var log = await fixture.Orleans.Conversation(conversationId).PullAsync(bob, new Messages.PullRequest());
        Assert.Equal("exactly once", Assert.Single(log.Messages).Content!.Text);
    }

    [Fact]
    public async Task Pull_sync_mark_read_recall_and_edit_work_over_the_wire()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await using var bobPhone = await fixture.ConnectAsync(bob);
        for (var i = 0; i < 3; i++)
        {
            await alicePhone.SendTextAsync(conversationId, $"m{i}");
        }

        await bobPhone.TakeAsync(3);
        var history = await bobPhone.PullAsync(conversationId, 0, beforeSeq: 3, limit: 10);
        Assert.Equal([1L, 2L], history.Messages.Select(m => m.Seq));

        var entry = await bobPhone.MarkReadAsync(conversationId, 2);
        Assert.Equal((2L, 1L), (entry!.ReadSeq, entry.UnreadCount));
        var sync = await bobPhone.SyncAsync(0);
        Assert.Contains(sync.Changed, e => e.ConversationId == conversationId && e.ReadSeq == 2);

        await alicePhone.EditAsync(conversationId, 3, ClientMessages.Text("m2 (edited)"));
        await alicePhone.RecallAsync(conversationId, 1);
        var changes = new List<Event>();
        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        while (changes.Count(e => e.KindCase == Event.KindOneofCase.Changed) < 2)
        {
            changes.Add(await bobPhone.Events.ReadAsync(cts.Token));
        }

        var changed = changes.Where(e => e.KindCase == Event.KindOneofCase.Changed).Select(e => e.Changed.Message).OrderBy(m => m.Seq).ToList();
        Assert.Equal((MessageState.Recalled, MessageState.Edited), (changed[0].State, changed[1].State));
        Assert.Equal("m2 (edited)", changed[1].Content.Text);

        var notMine = await Assert.ThrowsAsync<ImClientException>(() => bobPhone.RecallAsync(conversationId, 3));
        Assert.Equal(V1.ErrorCode.NotAllowed, notMine.Error!.Code);
        var elsewhere = await Assert.ThrowsAsync<ImClientException>(() => bobPhone.PullAsync(GrainKeys.P2P(alice, Ids.User("carol")), 0));
        Assert.Equal(V1.ErrorCode.NotFound, elsewhere.Error!.Code);
    }

    [Fact]
    public async Task Typing_reaches_the_other_members_online_devices_as_a_typing_event()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await using var bobPhone = await fixture.ConnectAsync(bob);

        await alicePhone.TypingAsync(conversationId);

        using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(10));
        Event typing;
        do
        {
            typing = await bobPhone.Events.ReadAsync(cts.Token);
        }
        while (typing.KindCase != Event.KindOneofCase.Typing);

        Assert.Equal((conversationId, alice), (typing.Typing.ConversationId, typing.Typing.UserId));
    }

    [Fact]
    public async Task After_ten_failed_reconnects_the_client_waits_for_an_explicit_reconnect_and_then_catches_up()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var proxy = new LoopbackProxy(fixture.TcpPort);
        await using var bobPhone = fixture.NewClient(bob, port: proxy.Port);
        await bobPhone.ConnectAsync();
        await using var alicePhone = await fixture.ConnectAsync(alice);

        proxy.GoDown();
        var waiting = await Eventually.ReturnsAsync(() => Task.FromResult(bobPhone.Status), s => s == ImClientStatus.WaitingForReconnect, TimeSpan.FromSeconds(30));
        Assert.Equal(ImClientStatus.WaitingForReconnect, waiting);
        await alicePhone.SendTextAsync(conversationId, "while you were away");

        proxy.ComeBack();
        await bobPhone.ConnectAsync();

        Assert.Equal(ImClientStatus.Connected, bobPhone.Status);
        Assert.Equal("while you were away", Assert.Single(await bobPhone.TakeAsync(1)).Content.Text);
    }
}
