using System.Text.Json;
using Orleans.Im.Accounts;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.OfflinePush;

/// <summary>
/// Offline push: devices with a push token that are not connected are told of new messages through the operator's push
/// gateway (played by the fixture on a loopback port, checking each request's signature). A user grain's notifications
/// reach the gateway in the order it made them, so a later one arriving means an earlier one would have.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class OfflinePushTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    private PushGatewayRecorder Gateway => fixture.PushGateway;

    [Fact]
    public async Task A_device_away_is_told_of_each_message_from_others_with_its_preview_and_the_unread_badge()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = GrainKeys.P2P(alice, bob);
        var bobsToken = await RegisterAsync(bob, "phone", "apns");
        await RegisterAsync(alice, "phone", "fcm");

        var first = await Client.SendTextAsync(conversation, alice, "hello bob");
        var second = await Client.SendTextAsync(conversation, alice, "are you there?");
        var toBob = await NotifiedAsync(bob, 2);

        Assert.Equal([first.Seq, second.Seq], toBob.Select(n => n.GetProperty("seq").GetInt64()));
        var last = toBob[^1];
        Assert.Equal(("phone", "apns", bobsToken, conversation, "p2p", alice, "are you there?", 2L, false),
            (last.GetProperty("deviceId").GetString(), last.GetProperty("provider").GetString(), last.GetProperty("token").GetString(),
             last.GetProperty("conversationId").GetString(), last.GetProperty("kind").GetString(), last.GetProperty("senderId").GetString(),
             last.GetProperty("preview").GetString(), last.GetProperty("badge").GetInt64(), last.GetProperty("mentioned").GetBoolean()));
        Assert.Equal(1L, toBob[0].GetProperty("badge").GetInt64());
        // Its key for dropping repeats is the firehose's id of the message; the login it is bound to is not the gateway's.
        Assert.Equal($"m:{conversation}:{second.Seq}", last.GetProperty("id").GetString());
        Assert.False(last.TryGetProperty("sessionId", out _));

        // Bob answers: Alice is told, and nobody is told of their own message.
        var answer = await Client.SendTextAsync(conversation, bob, "yes");
        var toAlice = await NotifiedAsync(alice, 1);
        Assert.Equal(answer.Seq, Assert.Single(toAlice).GetProperty("seq").GetInt64());
        Assert.Equal(2, Gateway.For(bob).Count);
        Assert.Equal(0, Gateway.BadSignatures);
    }

    [Fact]
    public async Task A_message_announced_again_by_the_conversations_next_activation_does_not_ring_the_phone_twice()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = GrainKeys.P2P(alice, bob);
        await RegisterAsync(bob, "phone", "apns");
        await RegisterAsync(alice, "phone", "fcm");
        var first = await Client.SendTextAsync(conversation, alice, "hello bob");
        await NotifiedAsync(bob, 1);

        // A rolling restart moves the conversation: its next activation announces its last minutes again (in case the
        // previous one died before telling them), and the second message follows.
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversation));
        var second = await Client.SendTextAsync(conversation, alice, "still there?");
        var third = await Client.SendTextAsync(conversation, bob, "yes");
        await NotifiedAsync(alice, 1);

        // Bob's grain handles its notices in order: Alice's notification of the third message came after all of his.
        Assert.Equal([first.Seq, second.Seq], Gateway.For(bob).Select(n => n.GetProperty("seq").GetInt64()));
        Assert.Equal(third.Seq, Assert.Single(Gateway.For(alice)).GetProperty("seq").GetInt64());
    }

    [Fact]
    public async Task A_lost_connection_is_told_each_conversations_newest_unread_message_but_not_a_groups_notice()
    {
        var (owner, bob) = (Ids.User("owner"), Ids.User("bob"));
        await RegisterAsync(bob, "phone", "apns");
        var user = Client.GetGrain<IUserGrain>(bob);
        var connection = Guid.NewGuid().ToString("N");
        await user.ConnectDeviceAsync(new DeviceSession("phone", "ios", "test-edge", DateTimeOffset.UtcNow, connection), null);

        // While the phone's connection was silent (dead, unknown yet): a message in a group, and a notice in another.
        var talking = await Client.CreateGroupAsync(owner, bob);
        var said = await Client.SendTextAsync(talking, owner, "did you get this?");
        var changed = await Client.CreateGroupAsync(owner, bob);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(changed).AddMembersAsync(owner, [Ids.User("carol")])).Status);
        await Eventually.UntilAsync(() => user.GetConversationAsync(changed), e => e?.LastSeq == 2);
        await Eventually.UntilAsync(() => user.GetConversationAsync(talking), e => e?.LastSeq == said.Seq);

        await user.DisconnectLostDeviceAsync("phone", connection, TimeSpan.FromMinutes(1));
        var told = await NotifiedAsync(bob, 1);
        Assert.Equal((talking, said.Seq), (told[0].GetProperty("conversationId").GetString(), told[0].GetProperty("seq").GetInt64()));
        await Task.Delay(300);
        Assert.Equal([talking], Gateway.For(bob).Select(n => n.GetProperty("conversationId").GetString()));
    }

    [Fact]
    public async Task A_loss_found_at_the_idle_timeout_still_tells_a_message_from_just_before_the_silence()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        await RegisterAsync(bob, "phone", "apns");
        var user = Client.GetGrain<IUserGrain>(bob);
        var connection = Guid.NewGuid().ToString("N");
        await user.ConnectDeviceAsync(new DeviceSession("phone", "ios", "test-edge", DateTimeOffset.UtcNow, connection), null);

        // The message is pushed to the connection, which is dead already (the phone went into a tunnel); the edge finds
        // out only at its idle timeout, longer after the message than the gateway client's age limit (2 min).
        var conversation = GrainKeys.P2P(alice, bob);
        var said = await Client.SendTextAsync(conversation, alice, "are you there?");
        await Eventually.UntilAsync(() => user.GetConversationAsync(conversation), e => e?.LastSeq == said.Seq);
        var silence = TimeSpan.FromMinutes(2) + TimeSpan.FromSeconds(10);
        fixture.Time.Advance(silence);
        await user.DisconnectLostDeviceAsync("phone", connection, silence + TimeSpan.FromMilliseconds(500));

        var told = Assert.Single(await NotifiedAsync(bob, 1));
        Assert.Equal((conversation, said.Seq), (told.GetProperty("conversationId").GetString(), told.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task A_connected_device_is_not_told_and_a_muted_conversation_tells_only_a_mention()
    {
        var (owner, bob) = (Ids.User("owner"), Ids.User("bob"));
        await RegisterAsync(bob, "phone", "apns");
        var user = Client.GetGrain<IUserGrain>(bob);
        var p2p = GrainKeys.P2P(owner, bob);

        // Connected: the device got the push, not a notification. Once it leaves, it is told again.
        var connection = Guid.NewGuid().ToString("N");
        await user.ConnectDeviceAsync(new DeviceSession("phone", "ios", "test-edge", DateTimeOffset.UtcNow, connection), null);
        var whileConnected = await Client.SendTextAsync(p2p, owner, "you are online");
        // In the background (the app said so), it is told as if it were not connected.
        await user.SetDeviceStatusAsync("phone", connection, away: true, networkType: null);
        var inTheBackground = await Client.SendTextAsync(p2p, owner, "you are in the background");
        await user.DisconnectDeviceAsync("phone", connection);
        var afterLeaving = await Client.SendTextAsync(p2p, owner, "now you are not connected");

        // Muted: nothing, unless the message mentions the user.
        var group = await Client.CreateGroupAsync(owner, bob);
        await user.UpdateConversationSettingsAsync(group, new ConversationSettings(Muted: true));
        var quiet = await Client.SendTextAsync(group, owner, "for everybody");
        var mention = await Client.Conversation(group).SendAsync(
            new SendRequest(owner, null, Ids.ClientMsgId(), MessageContent.FromText("@bob look"), Mentions: [bob]));
        Assert.Equal(SendStatus.Sent, mention.Status);

        var told = await NotifiedAsync(bob, 3);
        Assert.Equal([(p2p, inTheBackground.Seq, false), (p2p, afterLeaving.Seq, false), (group, mention.Seq, true)],
            told.Select(n => (n.GetProperty("conversationId").GetString(), n.GetProperty("seq").GetInt64(), n.GetProperty("mentioned").GetBoolean())));
        Assert.Equal((SendStatus.Sent, SendStatus.Sent), (whileConnected.Status, quiet.Status));
        // The muted group's unread messages do not count in the badge: only the p2p conversation's three do.
        Assert.Equal(3L, told[^1].GetProperty("badge").GetInt64());
    }

    [Fact]
    public async Task A_token_the_push_service_refused_is_forgotten_and_a_refusing_gateway_is_tried_again()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = GrainKeys.P2P(alice, bob);
        var token = await RegisterAsync(bob, "tablet", "fcm");
        var user = Client.GetGrain<IUserGrain>(bob);

        // The gateway is down for one request: the notification comes with the next attempt.
        Gateway.FailNext(1);
        var first = await Client.SendTextAsync(conversation, alice, "first");
        Assert.Equal(first.Seq, Assert.Single(await NotifiedAsync(bob, 1)).GetProperty("seq").GetInt64());
        Assert.True(Gateway.AttemptOf[$"m:{conversation}:{first.Seq}|tablet"] >= 2, "the refused request was sent again");

        // The push service says the app is gone: the token is forgotten, and later messages do not go to it.
        Gateway.RefusedTokens[token] = true;
        await Client.SendTextAsync(conversation, alice, "second");
        await NotifiedAsync(bob, 2);
        Assert.Empty(await Eventually.ReturnsAsync(user.GetPushTokensAsync, t => t.Count == 0));
        await RegisterAsync(bob, "phone", "apns");
        var third = await Client.SendTextAsync(conversation, alice, "third");
        var told = await NotifiedAsync(bob, 3);
        Assert.Equal([("tablet", first.Seq), ("tablet", first.Seq + 1), ("phone", third.Seq)],
            told.Select(n => (n.GetProperty("deviceId").GetString(), n.GetProperty("seq").GetInt64())));
    }

    [Fact]
    public async Task A_gateway_answer_that_does_not_parse_still_takes_the_batch_once()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        await RegisterAsync(bob, "phone", "apns");
        Gateway.AnswerText = "OK";
        try
        {
            var sent = await Client.SendTextAsync(GrainKeys.P2P(alice, bob), alice, "hello");
            Assert.Equal(sent.Seq, Assert.Single(await NotifiedAsync(bob, 1)).GetProperty("seq").GetInt64());

            // Taken means taken: not sent again (a later notification arriving shows the pump went on past it).
            Gateway.AnswerText = null;
            var next = await Client.SendTextAsync(GrainKeys.P2P(alice, bob), alice, "again");
            Assert.Equal([sent.Seq, next.Seq], (await NotifiedAsync(bob, 2)).Select(n => n.GetProperty("seq").GetInt64()));
        }
        finally
        {
            Gateway.AnswerText = null;
        }
    }

    [Fact]
    public async Task A_token_whose_login_has_ended_unannounced_is_not_told_and_is_forgotten()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var user = Client.GetGrain<IUserGrain>(bob);
        // A login that expired, or whose end the user grain did not hear: the account does not know it as live.
        Assert.Equal(AccessStatus.Ok, await user.SetPushTokenAsync("old-phone",
            new PushTokenRegistration("apns", "old-" + Guid.NewGuid().ToString("N"), "ended-session", DateTimeOffset.UtcNow)));
        await RegisterAsync(bob, "phone", "apns");

        var sent = await Client.SendTextAsync(GrainKeys.P2P(alice, bob), alice, "hello");
        Assert.Equal(("phone", sent.Seq), Assert.Single(await NotifiedAsync(bob, 1)) is var n ? (n.GetProperty("deviceId").GetString(), n.GetProperty("seq").GetInt64()) : default);
        Assert.Equal(["phone"], (await Eventually.ReturnsAsync(user.GetPushTokensAsync, t => t.Count == 1)).Keys);
    }

    [Fact]
    public async Task A_device_signed_out_is_told_nothing_more_and_a_token_moves_with_a_reinstalled_app()
    {
        var bob = Ids.User("bob");
        var account = Client.GetGrain<IAccountGrain>(bob);
        Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount("Bob", null, [AccountRole.User])));
        var now = fixture.Time.GetUtcNow();
        var phone = new LoginSession(Guid.NewGuid().ToString("N"), "phone", "ios", "refresh-hash-1", now.AddDays(30), now);
        var tablet = new LoginSession(Guid.NewGuid().ToString("N"), "tablet", "android", "refresh-hash-2", now.AddDays(30), now);
        Assert.True(await account.StartSessionAsync(phone));
        Assert.True(await account.StartSessionAsync(tablet));
        var user = Client.GetGrain<IUserGrain>(bob);
        Assert.Equal(AccessStatus.Ok, await user.SetPushTokenAsync("phone", new PushTokenRegistration("apns", "phone-token", phone.SessionId, now)));
        Assert.Equal(AccessStatus.Ok, await user.SetPushTokenAsync("tablet", new PushTokenRegistration("fcm", "tablet-token", tablet.SessionId, now)));

        // The app reinstalled on the tablet made a new device id: the old entry would notify the same tablet twice.
        Assert.Equal(AccessStatus.Ok, await user.SetPushTokenAsync("tablet-2", new PushTokenRegistration("fcm", "tablet-token", tablet.SessionId, now)));
        Assert.Equal(["phone", "tablet-2"], (await user.GetPushTokensAsync()).Keys.Order(StringComparer.Ordinal));

        // Signed out: the phone's token goes with its session.
        await account.EndSessionAsync(phone.SessionId);
        var left = await Eventually.ReturnsAsync(user.GetPushTokensAsync, t => !t.ContainsKey("phone"));
        Assert.Equal(["tablet-2"], left.Keys);

        // Not valid: refused, nothing changed.
        Assert.Equal(AccessStatus.Invalid, await user.SetPushTokenAsync("phone", new PushTokenRegistration("APNS", "token", phone.SessionId, now)));
        Assert.Equal(AccessStatus.Invalid, await user.SetPushTokenAsync("phone", new PushTokenRegistration("apns", "a token", phone.SessionId, now)));
        Assert.Equal(["tablet-2"], (await user.GetPushTokensAsync()).Keys);
    }

    [Fact]
    public async Task A_call_offer_rings_a_callee_away_through_the_gateway_and_other_signals_do_not()
    {
        var (caller, callee) = (Ids.User("caller"), Ids.User("callee"));
        var conversation = GrainKeys.P2P(caller, callee);
        const string Offer = """{"callId":"c1","kind":"offer","sdp":"v=0"}""";
        var token = await RegisterAsync(callee, "phone", "apns");
        // Peers in a small group, and the callee shares presence: the caller may see it, and so hear "offline" when
        // nothing rings.
        await Client.CreateGroupAsync(callee, caller);
        await Client.GetGrain<IUserGrain>(callee).SetSharePresenceAsync(true);

        // The offer wakes the phone: the caller hears it rings (not "offline"), and the gateway gets the signal.
        var offered = await CallAsync(conversation, caller, Offer);
        Assert.Equal((SendStatus.Sent, 0L), (offered.Status, offered.Seq));
        // Offered again at once (a retry): it rings already, and does not ring twice.
        Assert.Equal(SendStatus.Sent, (await CallAsync(conversation, caller, Offer)).Status);

        // Candidates and signals the server cannot read wake nobody: with no device online they are "offline".
        Assert.Equal(SendStatus.Offline, (await CallAsync(conversation, caller, """{"callId":"c1","kind":"ice","candidate":"x"}""")).Status);
        Assert.Equal(SendStatus.Offline, (await CallAsync(conversation, caller, "not json")).Status);

        var rung = Assert.Single(await NotifiedAsync(callee, 1));
        Assert.Equal(("phone", token, 0L, caller, Offer), (rung.GetProperty("deviceId").GetString(), rung.GetProperty("token").GetString(),
            rung.GetProperty("seq").GetInt64(), rung.GetProperty("senderId").GetString(), rung.GetProperty("call").GetString()));

        // A later message reaches the gateway after anything the other signals could have sent: they sent nothing.
        var message = await Client.SendTextAsync(conversation, caller, "call me back");
        Assert.Equal([0L, message.Seq], (await NotifiedAsync(callee, 2)).Select(n => n.GetProperty("seq").GetInt64()));
    }

    [Fact]
    public async Task A_token_claim_stored_with_its_answer_lost_leaves_the_token_claimable_again()
    {
        var key = PushTokenKeys.For("apns", $"apns-{Guid.NewGuid():N}");
        var holder = Client.GetGrain<IPushTokenGrain>(key);
        fixture.StorageFaults.LoseNextAnswer(GrainId.Create("pushtoken", key));
        await Assert.ThrowsAnyAsync<Exception>(() => holder.ClaimAsync(Ids.User("alice"), "phone"));

        // Before, the activation kept the version before the stored claim, and every later claim or release of the token
        // was refused as stale until it was collected: the phone signed in as another user kept notifying the first.
        var bob = Ids.User("bob");
        await holder.ClaimAsync(bob, "phone");
        Assert.Equal((bob, "phone"), await holder.GetHolderAsync() is { } h ? (h.UserId, h.DeviceId) : default);
    }

    [Fact]
    public async Task A_phone_signed_in_as_another_user_is_told_only_of_the_new_users_messages()
    {
        var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
        var token = $"apns-{Guid.NewGuid():N}";
        var holder = Client.GetGrain<IPushTokenGrain>(PushTokenKeys.For("apns", token));
        await RegisterAsync(alice, "phone", "apns", token);
        Assert.Equal((alice, "phone"), await holder.GetHolderAsync() is { } h ? (h.UserId, h.DeviceId) : default);

        // The phone is signed in as Bob (Alice never signed out): Alice's entry goes, so her messages are not shown there.
        await RegisterAsync(bob, "bobs-phone", "apns", token);
        await Eventually.UntilAsync(Client.GetGrain<IUserGrain>(alice).GetPushTokensAsync, t => t.Count == 0);
        Assert.Empty(await Client.GetGrain<IUserGrain>(alice).GetPushTokensAsync());
        await Client.SendTextAsync(GrainKeys.P2P(carol, alice), carol, "for alice");
        var forBob = await Client.SendTextAsync(GrainKeys.P2P(carol, bob), carol, "for bob");
        // Bob's notification came after anything Alice's message could have made (one gateway client, in order).
        Assert.Equal(forBob.Seq, Assert.Single(await NotifiedAsync(bob, 1)).GetProperty("seq").GetInt64());
        Assert.Empty(Gateway.For(alice));

        // Alice signs in on it again: now Bob's entry goes.
        await RegisterAsync(alice, "phone", "apns", token);
        await Eventually.UntilAsync(Client.GetGrain<IUserGrain>(bob).GetPushTokensAsync, t => t.Count == 0);
        Assert.Empty(await Client.GetGrain<IUserGrain>(bob).GetPushTokensAsync());
        Assert.Equal(["phone"], (await Client.GetGrain<IUserGrain>(alice).GetPushTokensAsync()).Keys);

        // Forgotten by its holder: released, and still Alice's as the last to claim it (Bob's stale entry, had he missed
        // the notice, would not take it back).
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IUserGrain>(alice).SetPushTokenAsync("phone", null));
        var released = await holder.GetHolderAsync();
        Assert.Equal((alice, "phone", true), (released?.UserId, released?.DeviceId, released?.Released == true));
    }

    [Fact]
    public async Task Two_users_registering_one_token_at_the_same_moment_leave_it_with_exactly_the_last_to_claim()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var token = $"fcm-{Guid.NewGuid():N}";
        var holder = Client.GetGrain<IPushTokenGrain>(PushTokenKeys.For("fcm", token));
        await RegisterAsync(alice, "phone", "fcm", token);
        await RegisterAsync(bob, "phone", "fcm", $"fcm-{Guid.NewGuid():N}");
        var sessions = new Dictionary<string, string>
        {
            [alice] = (await Client.GetGrain<IUserGrain>(alice).GetPushTokensAsync())["phone"].SessionId,
            [bob] = (await Client.GetGrain<IUserGrain>(bob).GetPushTokensAsync())["phone"].SessionId,
        };

        for (var round = 0; round < 10; round++)
        {
            // The holder's grain starts again, and both register at the same moment: the holder the same token again (an
            // app's start), the other one anew. When the other claims first, the holder is
            // told of that claim while its own, later one is under way: it must not forget the token it holds by then.
            var current = (await holder.GetHolderAsync())!.UserId;
            await fixture.Cluster.DeactivateAsync(Client.GetGrain<IUserGrain>(current));
            var results = await Task.WhenAll(new[] { alice, bob }.Select(user => Client.GetGrain<IUserGrain>(user).SetPushTokenAsync(
                "phone", new PushTokenRegistration("fcm", token, sessions[user], fixture.Time.GetUtcNow()))));
            Assert.All(results, r => Assert.Equal(AccessStatus.Ok, r));

            // Whoever claimed last holds it, and only that user keeps it: the other is told one-way (waited for), and the
            // holder, given a moment for a notice that a wrong grain would act on, still has it.
            var last = (await holder.GetHolderAsync())!;
            var loser = last.UserId == alice ? bob : alice;
            await Eventually.UntilAsync(Client.GetGrain<IUserGrain>(loser).GetPushTokensAsync, t => !t.ContainsKey("phone"));
            await Task.Delay(TimeSpan.FromMilliseconds(200));
            Assert.False((await Client.GetGrain<IUserGrain>(loser).GetPushTokensAsync()).ContainsKey("phone"));
            Assert.Equal(token, (await Client.GetGrain<IUserGrain>(last.UserId).GetPushTokensAsync()).GetValueOrDefault("phone")?.Token);
            Assert.Equal((last.UserId, "phone"), await holder.GetHolderAsync() is { } now ? (now.UserId, now.DeviceId) : default);
        }
    }

    [Fact]
    public async Task A_user_that_missed_losing_its_token_to_another_is_not_told_through_it_and_forgets_it()
    {
        var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
        var token = $"apns-{Guid.NewGuid():N}";
        await RegisterAsync(alice, "phone", "apns", token);

        // Bob takes the phone while Alice's storage is down: she is told, cannot write that she forgot, and her next
        // activation has the token again (as after a notice lost with a silo).
        var alicesGrain = GrainId.Create("user", alice);
        fixture.StorageFaults.Fail(alicesGrain);
        try
        {
            await RegisterAsync(bob, "phone", "apns", token);
            await Eventually.UntilAsync(() => Task.FromResult(fixture.StorageFaults.Refused(alicesGrain)), n => n > 0);
            Assert.True(fixture.StorageFaults.Refused(alicesGrain) > 0, "Alice was told and tried to write");
        }
        finally
        {
            fixture.StorageFaults.Heal(alicesGrain);
        }

        var alicesUser = Client.GetGrain<IUserGrain>(alice);
        await fixture.Cluster.DeactivateAsync(alicesUser);
        Assert.Equal(["phone"], (await alicesUser.GetPushTokensAsync()).Keys);

        // Bob turns notifications off on the phone (or signs out): the token is released, and still not Alice's.
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IUserGrain>(bob).SetPushTokenAsync("phone", null));

        // A message to Alice: her grain would tell the phone; the gateway client finds the token claimed last by Bob's
        // device, tells nothing, and has her forget it (it forgets after the check that dropped the notification).
        await Client.SendTextAsync(GrainKeys.P2P(carol, alice), carol, "for alice");
        await Eventually.UntilAsync(alicesUser.GetPushTokensAsync, t => t.Count == 0);
        Assert.Empty(await alicesUser.GetPushTokensAsync());
        Assert.Empty(Gateway.For(alice));
    }

    [Fact]
    public async Task A_device_that_hides_previews_is_told_who_wrote_but_not_what()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = GrainKeys.P2P(alice, bob);
        var token = await RegisterAsync(bob, "phone", "apns");
        var user = Client.GetGrain<IUserGrain>(bob);
        var session = (await user.GetPushTokensAsync())["phone"].SessionId;
        Assert.Equal(AccessStatus.Ok, await user.SetPushTokenAsync("phone", new PushTokenRegistration("apns", token, session, fixture.Time.GetUtcNow(), HidePreviews: true)));

        var hidden = await Client.SendTextAsync(conversation, alice, "the door code is 4711");
        Assert.Equal(AccessStatus.Ok, await user.SetPushTokenAsync("phone", new PushTokenRegistration("apns", token, session, fixture.Time.GetUtcNow())));
        var shown = await Client.SendTextAsync(conversation, alice, "see you");

        var told = await NotifiedAsync(bob, 2);
        Assert.Equal([(hidden.Seq, alice, (string?)null), (shown.Seq, alice, "see you")], told.Select(n => (n.GetProperty("seq").GetInt64(),
            n.GetProperty("senderId").GetString(), n.TryGetProperty("preview", out var p) ? p.GetString() : null)));
    }

    [Fact]
    public async Task A_phone_made_to_leave_by_a_newer_phones_login_is_told_nothing_more()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var oldPhonesToken = await RegisterAsync(bob, "old-phone", "apns");
        var user = Client.GetGrain<IUserGrain>(bob);
        await user.ConnectDeviceAsync(new DeviceSession("old-phone", "ios", "test-edge", fixture.Time.GetUtcNow(), Guid.NewGuid().ToString("N")), null);

        // One phone at a time (the default): the new phone's login makes the old one leave ("signed in elsewhere").
        await user.ConnectDeviceAsync(new DeviceSession("new-phone", "android", "test-edge", fixture.Time.GetUtcNow(), Guid.NewGuid().ToString("N")), null);
        Assert.Equal(["new-phone"], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
        // Forgotten in a turn of its own, just after the login's.
        Assert.Empty(await Eventually.ReturnsAsync(user.GetPushTokensAsync, t => t.Count == 0));
        var holder = await Client.GetGrain<IPushTokenGrain>(PushTokenKeys.For("apns", oldPhonesToken)).GetHolderAsync();
        Assert.True(holder?.Released, "the old phone's token is released");

        // Its messages reach the new phone by push; the old one is told nothing through the gateway.
        await Client.SendTextAsync(GrainKeys.P2P(alice, bob), alice, "hello");
        await RegisterAsync(alice, "marker", "fcm");
        var marker = await Client.SendTextAsync(GrainKeys.P2P(alice, bob), bob, "marker");
        Assert.Equal(marker.Seq, Assert.Single(await NotifiedAsync(alice, 1)).GetProperty("seq").GetInt64());
        Assert.Empty(Gateway.For(bob));
    }

    private Task<SendResult> CallAsync(string conversationId, string caller, string payload) =>
        Client.Conversation(conversationId).SendAsync(new SendRequest(caller, "phone", Ids.ClientMsgId(), CallSignal.Content(payload), MessageClass.Instant));

    /// <summary>Signs the device in (making the account the first time) and registers a new token for it; the token.</summary>
    private Task<string> RegisterAsync(string userId, string deviceId, string provider) =>
        RegisterAsync(userId, deviceId, provider, $"{provider}-{Guid.NewGuid():N}");

    /// <summary>Signs the device in (making the account the first time) and registers <paramref name="token"/> for it.</summary>
    private async Task<string> RegisterAsync(string userId, string deviceId, string provider, string token)
    {
        var account = Client.GetGrain<IAccountGrain>(userId);
        if (await account.GetCredentialsAsync() is null)
        {
            Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount(userId, null, [AccountRole.User])));
        }

        var now = fixture.Time.GetUtcNow();
        var login = new LoginSession(Guid.NewGuid().ToString("N"), deviceId, "ios", "refresh-" + deviceId, now.AddDays(30), now);
        Assert.True(await account.StartSessionAsync(login));
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IUserGrain>(userId).SetPushTokenAsync(deviceId,
            new PushTokenRegistration(provider, token, login.SessionId, now)));
        return token;
    }

    /// <summary>Waits for <paramref name="count"/> notifications to <paramref name="userId"/>; all of them so far.</summary>
    private async Task<IReadOnlyList<JsonElement>> NotifiedAsync(string userId, int count)
    {
        var told = await Eventually.ReturnsAsync(() => Task.FromResult(Gateway.For(userId)), n => n.Count >= count, TimeSpan.FromSeconds(20));
        Assert.True(told.Count >= count, $"{told.Count} notifications to {userId}, {count} expected");
        return told;
    }
}
