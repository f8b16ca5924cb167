using System.Net;
using System.Net.Http.Json;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class PublicAccountEdgeTests(EdgeFixture fixture)
{
    [Fact]
    public async Task Users_subscribe_over_tcp_operators_broadcast_over_http_and_reach_targets_subscribers_only()
    {
        var (account, @operator, reader, stranger) = (Ids.User("pub"), Ids.User("op"), Ids.User("reader"), Ids.User("stranger"));
        using (var setup = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/public-accounts/{account}", new PublicAccountBody("Nws", [@operator])))
        {
            Assert.Equal(HttpStatusCode.OK, setup.StatusCode);
        }

        // A rename that leaves the operators out keeps them.
        using (var renamed = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/public-accounts/{account}", new PublicAccountBody("News")))
        {
            Assert.Equal(HttpStatusCode.OK, renamed.StatusCode);
            var view = (await renamed.Content.ReadFromJsonAsync<PublicAccountView>(ApiCalls.Json))!;
            Assert.Equal("News", view.Name);
            Assert.Equal([@operator], view.OperatorIds!);
        }

        await using var phone = await fixture.ConnectAsync(reader);
        await phone.SubscribeAsync(account);
        using var http = fixture.Http();
        var operatorToken = fixture.Tokens.Issue(@operator, "session-op");
        using (var broadcast = await http.CallAsync(HttpMethod.Post, $"/api/public-accounts/{account}/broadcasts", operatorToken,
            new BroadcastBody(Ids.ClientMsgId(), new ContentBody(Orleans.Im.Messages.ContentType.Text, "hello subscribers"))))
        {
            Assert.Equal(HttpStatusCode.OK, broadcast.StatusCode);
        }

        var pushed = Assert.Single(await phone.TakeAsync(1));
        Assert.Equal((GrainKeys.PublicAccount(account), account, "hello subscribers", ""), (pushed.ConversationId, pushed.SenderId, pushed.Content.Text, pushed.ActingSenderId));

        // A subscriber does not broadcast; the subscriber list is for operators.
        var refused = await phone.SendTextAsync(GrainKeys.PublicAccount(account), "me too");
        Assert.Equal((V1.SendStatus.Refused, V1.ErrorCode.NotFound), (refused.Status, refused.Error.Code));
        using (var list = await http.CallAsync(HttpMethod.Get, $"/api/public-accounts/{account}/subscribers", operatorToken))
        {
            Assert.Equal([reader], (await list.Content.ReadFromJsonAsync<SubscribersResponse>(ApiCalls.Json))!.UserIds);
        }

        using (var notOperator = await http.CallAsync(HttpMethod.Get, $"/api/public-accounts/{account}/subscribers", fixture.Tokens.Issue(reader, "session-http")))
        {
            Assert.Equal(HttpStatusCode.NotFound, notOperator.StatusCode);
        }

        // Reach: one-to-one from the account, to subscribers only; the subscriber answers and the account sees it.
        using (var reach = await fixture.AdminCallAsync(HttpMethod.Post, $"/api/system/public-accounts/{account}/reach",
            new ReachBody(Ids.ClientMsgId(), new ContentBody(Orleans.Im.Messages.ContentType.Text, "your parcel ships today"), [reader, stranger])))
        {
            Assert.Equal(HttpStatusCode.OK, reach.StatusCode);
            var results = (await reach.Content.ReadFromJsonAsync<ReachResponse>(ApiCalls.Json))!.Results;
            Assert.Equal([(reader, "sent"), (stranger, "not_subscribed")], results.Select(r => (r.UserId, r.Status)));
        }

        var personal = Assert.Single(await phone.TakeAsync(1));
        Assert.Equal((GrainKeys.P2P(account, reader), "your parcel ships today"), (personal.ConversationId, personal.Content.Text));
        await using var robot = await fixture.ConnectAsync(account, "robot");
        Assert.Equal(V1.SendStatus.Sent, (await phone.SendTextAsync(GrainKeys.P2P(account, reader), "thanks!")).Status);
        Assert.Contains(await robot.TakeAsync(1), m => m.Content.Text == "thanks!");

        await phone.UnsubscribeAsync(account);
        using (var mine = await http.CallAsync(HttpMethod.Get, "/api/me/subscriptions", fixture.Tokens.Issue(reader, "session-http")))
        {
            Assert.Empty((await mine.Content.ReadFromJsonAsync<string[]>(ApiCalls.Json))!);
        }
    }

    [Fact]
    public async Task Over_tcp_typing_carries_its_expiry_a_call_to_an_offline_callee_is_refused_offline_and_mentions_flag_the_entry()
    {
        var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
        var p2p = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        // Alice may see bob's presence (peers in a small group, and he shares it): she, and only such a caller, hears "offline".
        await fixture.Orleans.CreateGroupAsync(bob, alice);
        await fixture.Orleans.GetGrain<Im.Users.IUserGrain>(bob).SetSharePresenceAsync(true);

        var call = await alicePhone.SendCallSignalAsync(p2p, """{"callId":"c1","kind":"offer"}""");
        Assert.Equal((V1.SendStatus.Refused, V1.ErrorCode.Offline), (call.Status, call.Error.Code));

        await using var bobRaw = await RawConnection.OpenAsync(fixture.TcpPort);
        await bobRaw.LoginAsync(fixture.Tokens.Issue(bob, "session-raw"));
        Assert.Equal(V1.SendStatus.Sent, (await alicePhone.SendCallSignalAsync(p2p, """{"callId":"c2","kind":"offer"}""")).Status);
        await alicePhone.TypingAsync(p2p);
        var events = new List<V1.Event>();
        while (events.Count(e => e.Typing is not null || e.Message?.Content?.CustomType == "im.call") < 2)
        {
            var frame = await bobRaw.ReadFrameAsync(TimeSpan.FromSeconds(10));
            Assert.NotNull(frame);
            if (frame.Value.Op == V1.Op.Push)
            {
                events.AddRange(V1.PushBatch.Parser.ParseFrom(frame.Value.Body).Events);
            }
        }

        var typing = events.Single(e => e.Typing is not null).Typing;
        Assert.Equal((alice, 6000u), (typing.UserId, typing.ExpiresInMs));
        Assert.Contains(events, e => e.Message?.Content?.CustomData == """{"callId":"c2","kind":"offer"}""");

        var group = await fixture.Orleans.CreateGroupAsync(alice, bob, carol);
        var mention = await alicePhone.SendMentioningAsync(group, "@carol please look", [carol]);
        Assert.Equal(V1.SendStatus.Sent, mention.Status);
        var stranger = await alicePhone.SendMentioningAsync(group, "@nobody", [Ids.User("nobody")]);
        Assert.Equal((V1.SendStatus.Refused, V1.ErrorCode.BadRequest), (stranger.Status, stranger.Error.Code));
        await using var carolPhone = await fixture.ConnectAsync(carol);
        var entry = await Eventually.ReturnsAsync(
            async () => (await carolPhone.SyncAsync(0)).Changed.SingleOrDefault(e => e.ConversationId == group),
            e => e?.Mentioned == true);
        Assert.Equal((true, mention.Seq), (entry!.Mentioned, entry.MentionSeq));
        var pulled = await carolPhone.PullAsync(group, 0);
        Assert.Equal([carol], pulled.Messages.Single(m => m.Seq == mention.Seq).Mentions);
    }
}
