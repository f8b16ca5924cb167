using System.Net;
using System.Net.Http.Json;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Api;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class HttpMessagingTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_message_sent_over_HTTP_reaches_the_receivers_TCP_connection_and_history_and_a_retry_stores_one_copy()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var token = (await fixture.LoginAsync(alice)).AccessToken;
        await using var bobPhone = await fixture.ConnectAsync(bob);
        using var http = fixture.Http();
        var body = new SendBody("http-retry-1", new ContentBody(ContentType.Text, "over HTTP"));

        using var first = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages", token, body);
        using var retry = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages", token, body);

        var sent = (await first.Content.ReadFromJsonAsync<SendResponse>(ApiCalls.Json))!;
        var again = (await retry.Content.ReadFromJsonAsync<SendResponse>(ApiCalls.Json))!;
        Assert.Equal((1L, false), (sent.Seq, sent.Duplicate));
        Assert.Equal((sent.Seq, sent.ServerTime, true), (again.Seq, again.ServerTime, again.Duplicate));

        var delivered = Assert.Single(await bobPhone.TakeAsync(1));
        Assert.Equal(("over HTTP", alice, 1L), (delivered.Content.Text, delivered.SenderId, delivered.Seq));
        await bobPhone.AssertNoMoreAsync();

        using var history = await http.CallAsync(HttpMethod.Get, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages?afterSeq=0&limit=10", token);
        var page = (await history.Content.ReadFromJsonAsync<HistoryResponse>(ApiCalls.Json))!;
        var message = Assert.Single(page.Messages);
        Assert.Equal(("http-retry-1", "over HTTP", alice, 1L), (message.ClientMsgId, message.Content!.Text, message.SenderId, page.LastSeq));

        // A chat room is joined and written to over a connection: the API says so (it activated an empty conversation).
        using var toRoom = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(GrainKeys.Room("lobby"))}/messages", token, body);
        Assert.Equal(HttpStatusCode.BadRequest, toRoom.StatusCode);
    }

    [Fact]
    public async Task A_reply_sent_over_tcp_names_the_message_it_answers_on_the_receivers_connection_and_in_the_http_history()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await using var bobPhone = await fixture.ConnectAsync(bob);
        var question = await alicePhone.SendTextAsync(conversationId, "lunch?");
        Assert.Single(await bobPhone.TakeAsync(1));

        var answer = await bobPhone.ReplyTextAsync(conversationId, question.Seq, "yes");

        Assert.Equal(V1.SendStatus.Sent, answer.Status);
        // Her device's stream holds her own message too (from its ack), then the answer.
        var atAlice = (await alicePhone.TakeAsync(2))[^1];
        Assert.Equal(("yes", question.Seq), (atAlice.Content.Text, atAlice.Content.ReplyToSeq));

        // Over HTTP, both ways: the history shows it, and a reply posted there is taken.
        using var http = fixture.Http();
        var token = (await fixture.LoginAsync(alice)).AccessToken;
        using var posted = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages", token,
            new SendBody("http-reply-1", new ContentBody(ContentType.Text, "see you", ReplyToSeq: answer.Seq)));
        Assert.Equal(HttpStatusCode.OK, posted.StatusCode);
        using var tooFar = await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages", token,
            new SendBody("http-reply-2", new ContentBody(ContentType.Text, "to what?", ReplyToSeq: 99)));
        Assert.Equal(HttpStatusCode.BadRequest, tooFar.StatusCode);
        using var history = await http.CallAsync(HttpMethod.Get, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages?afterSeq=0&limit=10", token);
        var page = (await history.Content.ReadFromJsonAsync<HistoryResponse>(ApiCalls.Json))!;
        Assert.Equal([null, question.Seq, answer.Seq], page.Messages.Select(m => m.Content!.ReplyToSeq));
    }

    [Fact]
    public async Task Page_sizes_are_taken_as_the_hub_and_tcp_take_them_and_a_body_past_the_limit_is_refused_unread()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var token = (await fixture.LoginAsync(alice)).AccessToken;
        using var http = fixture.Http();
        using (await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages", token,
            new SendBody("page-1", new ContentBody(ContentType.Text, "one"))))
        {
        }

        // No limit (0) is the default page, and one past the largest is the largest: not a 400 the hub would not give.
        foreach (var limit in new[] { 0, MessageLimits.MaxPullLimit + 300 })
        {
            using var page = await http.CallAsync(HttpMethod.Get, $"/api/conversations/{ApiCalls.Path(conversationId)}/messages?limit={limit}", token);
            Assert.Equal(HttpStatusCode.OK, page.StatusCode);
            Assert.Single((await page.Content.ReadFromJsonAsync<HistoryResponse>(ApiCalls.Json))!.Messages);
        }

        // A login of a megabyte (anonymous): refused by its size, not read (asked first, so that the refusal comes before
        // the body is written, rather than the connection closing under the writer).
        using var login = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = new StringContent($$"""{"userId":"{{alice}}","password":"{{new string('x', 1024 * 1024)}}"}""", System.Text.Encoding.UTF8, "application/json"),
        };
        login.Headers.ExpectContinue = true;
        using var huge = await http.SendAsync(login);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, huge.StatusCode);
    }

    [Fact]
    public async Task A_client_that_was_away_finds_changed_conversations_at_sync_and_fetches_their_changes()
    {
        var (alice, bob) = (await fixture.NewUserAsync("alice"), await fixture.NewUserAsync("bob"));
        var path = $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(alice, bob))}";
        var (aliceToken, bobToken) = ((await fixture.LoginAsync(alice)).AccessToken, (await fixture.LoginAsync(bob)).AccessToken);
        using var http = fixture.Http();
        foreach (var text in new[] { "typo", "the last" })
        {
            await http.CallAsync(HttpMethod.Post, $"{path}/messages", aliceToken, new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, text)));
        }

        var before = await Eventually.ReturnsAsync(() => Sync(0), s => s.Conversations.Count == 1 && s.Conversations[0].LastSeq == 2);
        Assert.Null(before.Conversations[0].ChangedAt);

        // The first message is edited: the entry shows a change although its last message is the same.
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Put, $"{path}/messages/1", aliceToken, new EditBody(new ContentBody(ContentType.Text, "typo fixed")))).StatusCode);
        var after = await Eventually.ReturnsAsync(() => Sync(before.Version), s => s.Conversations.Count == 1 && s.Conversations[0].ChangedAt is not null);
        Assert.Equal("the last", after.Conversations[0].LastMessage!.Text);

        using var response = await http.CallAsync(HttpMethod.Get, $"{path}/changes", bobToken);
        var changes = (await response.Content.ReadFromJsonAsync<ChangesResponse>(ApiCalls.Json))!;
        var edited = Assert.Single(changes.Messages);
        Assert.Equal((1L, MessageState.Edited, "typo fixed", after.Conversations[0].ChangedAt, false),
            (edited.Seq, edited.State, edited.Content!.Text, edited.RevisedAt, changes.HasMore));
        using var none = await http.CallAsync(HttpMethod.Get, $"{path}/changes?after={Uri.EscapeDataString(edited.RevisedAt!.Value.ToString("O"))}", bobToken);
        Assert.Empty((await none.Content.ReadFromJsonAsync<ChangesResponse>(ApiCalls.Json))!.Messages);

        async Task<SyncResponse> Sync(long since)
        {
            using var synced = await http.CallAsync(HttpMethod.Get, $"/api/sync?sinceVersion={since}", bobToken);
            return (await synced.Content.ReadFromJsonAsync<SyncResponse>(ApiCalls.Json))!;
        }
    }

    [Fact]
    public async Task Incremental_sync_returns_exactly_the_conversations_changed_since()
    {
        var me = await fixture.NewUserAsync("me");
        var peers = new[] { await fixture.NewUserAsync("p0"), await fixture.NewUserAsync("p1"), await fixture.NewUserAsync("p2") };
        var token = (await fixture.LoginAsync(me)).AccessToken;
        using var http = fixture.Http();
        foreach (var peer in peers)
        {
            await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(me, peer))}/messages", token, new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, "hi")));
        }

        var all = await Eventually.ReturnsAsync(() => Sync(0), s => s.Conversations.Count == 3);
        Assert.Equal(peers.Select(p => GrainKeys.P2P(me, p)).Order(), all.Conversations.Select(c => c.ConversationId).Order());

        var peerToken = (await fixture.LoginAsync(peers[1])).AccessToken;
        await http.CallAsync(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(me, peers[1]))}/messages", peerToken, new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, "reply")));
        await http.CallAsync(HttpMethod.Patch, $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(me, peers[2]))}/settings", token, new SettingsBody(Pinned: true));

        var changed = await Eventually.ReturnsAsync(() => Sync(all.Version), s => s.Conversations.Count == 2);
        Assert.Equal([GrainKeys.P2P(me, peers[1]), GrainKeys.P2P(me, peers[2])], changed.Conversations.Select(c => c.ConversationId).Order());
        var replied = changed.Conversations.Single(c => c.ConversationId == GrainKeys.P2P(me, peers[1]));
        Assert.Equal((2L, 1L, "reply"), (replied.LastSeq, replied.Unread, replied.LastMessage!.Text));
        Assert.Empty((await Sync(changed.Version)).Conversations);

        async Task<SyncResponse> Sync(long since)
        {
            using var response = await http.CallAsync(HttpMethod.Get, $"/api/sync?sinceVersion={since}", token);
            return (await response.Content.ReadFromJsonAsync<SyncResponse>(ApiCalls.Json))!;
        }
    }

    [Fact]
    public async Task Mistaken_bodies_are_refused_with_a_code_and_an_empty_collapse_key_means_none()
    {
        var owner = await fixture.NewUserAsync("owner");
        var admin = await fixture.NewUserAsync("admin");
        var ownerToken = (await fixture.LoginAsync(owner)).AccessToken;
        using var http = fixture.Http();
        using var created = await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, new CreateGroupBody("Team", [admin]));
        var group = (await created.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!;
        var path = $"/api/groups/{ApiCalls.Path(group.ConversationId)}";
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Put, $"{path}/members/{admin}/role", ownerToken, new RoleBody(GroupRole.Admin))).StatusCode);

        // A role left out or misspelt is refused. Before, it was taken as "member": the admin was demoted, and the whole
        // group told so.
        foreach (var mistaken in new object[] { new { }, new { roles = "member" }, new { role = "admin", extra = 1 } })
        {
            using var refused = await http.CallAsync(HttpMethod.Put, $"{path}/members/{admin}/role", ownerToken, mistaken);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_request", await refused.ProblemCodeAsync());
        }

        using (var members = await http.CallAsync(HttpMethod.Get, $"{path}/members", ownerToken))
        {
            Assert.Equal(GroupRole.Admin, (await members.Content.ReadFromJsonAsync<List<GroupMember>>(ApiCalls.Json))!.Single(m => m.UserId == admin).Role);
        }

        // An error the framework answers by itself (a body that is not JSON) has a code too.
        var messages = $"/api/conversations/{ApiCalls.Path(GrainKeys.P2P(owner, admin))}/messages";
        using (var notJson = new HttpRequestMessage(HttpMethod.Post, messages) { Content = new StringContent("{not json", System.Text.Encoding.UTF8, "application/json") })
        {
            notJson.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", ownerToken);
            using var refused = await http.SendAsync(notJson);
            Assert.Equal(HttpStatusCode.BadRequest, refused.StatusCode);
            Assert.Equal("invalid_request", await refused.ProblemCodeAsync());
        }

        // An empty collapse key on an ordinary message is none, as on the long connections (it was refused here).
        using var sent = await http.CallAsync(HttpMethod.Post, messages, ownerToken, new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, "hi"), CollapseKey: ""));
        Assert.Equal(HttpStatusCode.OK, sent.StatusCode);
    }

    [Fact]
    public async Task Creating_a_shop_is_safe_to_retry_and_refuses_an_id_taken_by_another_kind_of_account()
    {
        var (shop, agent, user) = (Ids.User("shop"), Ids.User("agent"), await fixture.NewUserAsync("user"));
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);

        // Refused for a wrong agent id: the shop is made without agents. Before, the retry with the id put right answered
        // 409 (the shop existed) and set no agents.
        using (var wrong = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [Ids.User("nobody")])))
        {
            Assert.Equal(HttpStatusCode.BadRequest, wrong.StatusCode);
        }

        using (var retried = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent])))
        {
            Assert.Equal(HttpStatusCode.Created, retried.StatusCode);
        }

        using (var agents = await fixture.AdminCallAsync(HttpMethod.Get, $"/api/admin/shops/{shop}/agents"))
        {
            Assert.Equal([agent], (await agents.Content.ReadFromJsonAsync<List<string>>(ApiCalls.Json))!);
        }

        // A shop with agents is not taken over by a create naming others (another's shop, or one changed since).
        var other = Ids.User("agent");
        await fixture.CreateAccountAsync(other, AccountRole.Agent);
        using (var takeover = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [other])))
        {
            Assert.Equal(HttpStatusCode.Conflict, takeover.StatusCode);
        }

        using (var agents = await fixture.AdminCallAsync(HttpMethod.Get, $"/api/admin/shops/{shop}/agents"))
        {
            Assert.Equal([agent], (await agents.Content.ReadFromJsonAsync<List<string>>(ApiCalls.Json))!);
        }

        // A user's account is not a shop to set agents on.
        using var taken = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(user, "Not a shop", [agent]));
        Assert.Equal(HttpStatusCode.Conflict, taken.StatusCode);
    }

    [Fact]
    public async Task Groups_are_created_and_managed_over_HTTP()
    {
        var owner = await fixture.NewUserAsync("owner");
        var member = await fixture.NewUserAsync("member");
        var newcomer = await fixture.NewUserAsync("newcomer");
        var ownerToken = (await fixture.LoginAsync(owner)).AccessToken;
        var memberToken = (await fixture.LoginAsync(member)).AccessToken;
        using var http = fixture.Http();

        using var created = await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, new CreateGroupBody("Team", [member]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var group = (await created.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!;
        var path = $"/api/groups/{ApiCalls.Path(group.ConversationId)}";

        Assert.Equal(HttpStatusCode.Forbidden, (await http.CallAsync(HttpMethod.Post, $"{path}/members", memberToken, new MembersBody([newcomer]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Post, $"{path}/members", ownerToken, new MembersBody([newcomer]))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Put, $"{path}/members/{member}/role", ownerToken, new RoleBody(GroupRole.Admin))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Put, $"{path}/announcement", memberToken, new AnnouncementBody("Welcome!"))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.CallAsync(HttpMethod.Put, $"{path}/name", memberToken, new GroupNameBody(" "))).StatusCode);
        using (var renamed = await http.CallAsync(HttpMethod.Put, $"{path}/name", memberToken, new GroupNameBody("Team A")))
        {
            Assert.Equal("Team A", (await renamed.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!.Name);
        }

        using var members = await http.CallAsync(HttpMethod.Get, $"{path}/members", memberToken);
        var list = (await members.Content.ReadFromJsonAsync<List<GroupMember>>(ApiCalls.Json))!;
        Assert.Equal(
            new[] { (owner, GroupRole.Owner), (member, GroupRole.Admin), (newcomer, GroupRole.Member) }.OrderBy(m => m.Item1, StringComparer.Ordinal),
            list.Select(m => (m.UserId, m.Role)).OrderBy(m => m.UserId, StringComparer.Ordinal));
        using (var mine = await http.CallAsync(HttpMethod.Get, "/api/groups", memberToken))
        {
            Assert.Equal([group.ConversationId], (await mine.Content.ReadFromJsonAsync<List<GroupInfo>>(ApiCalls.Json))!.Select(g => g.ConversationId));
        }

        // Only the owner dissolves it; then it is read-only, and its members may still leave.
        Assert.Equal(HttpStatusCode.Forbidden, (await http.CallAsync(HttpMethod.Post, $"{path}/dissolve", memberToken)).StatusCode);
        using (var dissolved = await http.CallAsync(HttpMethod.Post, $"{path}/dissolve", ownerToken))
        {
            Assert.Equal(HttpStatusCode.OK, dissolved.StatusCode);
            Assert.NotNull((await dissolved.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!.DissolvedAt);
        }

        Assert.Equal(HttpStatusCode.Forbidden, (await http.CallAsync(HttpMethod.Put, $"{path}/announcement", memberToken, new AnnouncementBody("Still here?"))).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await http.CallAsync(HttpMethod.Post, $"{path}/leave", memberToken)).StatusCode);
        using (var none = await http.CallAsync(HttpMethod.Get, "/api/groups", memberToken))
        {
            Assert.Empty((await none.Content.ReadFromJsonAsync<List<GroupInfo>>(ApiCalls.Json))!);
        }

        Assert.Equal(HttpStatusCode.NotFound, (await http.CallAsync(HttpMethod.Get, path, memberToken)).StatusCode);
    }

    [Fact]
    public async Task A_groups_history_for_new_members_is_set_over_HTTP_and_a_newcomers_pulls_say_where_theirs_starts()
    {
        var (owner, member, newcomer) = (await fixture.NewUserAsync("owner"), await fixture.NewUserAsync("member"), await fixture.NewUserAsync("newcomer"));
        var (ownerToken, memberToken, newcomerToken) = ((await fixture.LoginAsync(owner)).AccessToken, (await fixture.LoginAsync(member)).AccessToken,
            (await fixture.LoginAsync(newcomer)).AccessToken);
        using var http = fixture.Http();

        // Hidden unless asked otherwise.
        using var created = await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, new CreateGroupBody("Team", [member]));
        var group = (await created.Content.ReadFromJsonAsync<GroupChangeView>(ApiCalls.Json))!;
        Assert.True(group.HidesHistoryFromNewMembers);
        var path = $"/api/groups/{ApiCalls.Path(group.ConversationId)}";
        var messages = $"/api/conversations/{ApiCalls.Path(group.ConversationId)}/messages";
        using (var said = await http.CallAsync(HttpMethod.Post, messages, memberToken, new SendBody("before-1", new ContentBody(ContentType.Text, "before you came"))))
        {
            Assert.Equal(HttpStatusCode.OK, said.StatusCode);
        }

        // The newcomer's phone is online when they are added: it is told of the group from the notice that added them.
        await using var newcomersPhone = await fixture.ConnectAsync(newcomer);
        using (var added = await http.CallAsync(HttpMethod.Post, $"{path}/members", ownerToken, new MembersBody([newcomer])))
        {
            Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        }

        using (var welcome = await http.CallAsync(HttpMethod.Post, messages, memberToken, new SendBody("welcome-1", new ContentBody(ContentType.Text, "welcome"))))
        {
            Assert.Equal(HttpStatusCode.OK, welcome.StatusCode);
        }

        Assert.Equal([3L, 4L], (await newcomersPhone.TakeAsync(2)).Select(m => m.Seq));

        using (var history = await http.CallAsync(HttpMethod.Get, $"{messages}?afterSeq=0&limit=50", newcomerToken))
        {
            var page = (await history.Content.ReadFromJsonAsync<HistoryResponse>(ApiCalls.Json))!;
            Assert.Equal((2L, 4L), (page.HistoryStartsAfterSeq, page.LastSeq));
            Assert.Equal([3L, 4L], page.Messages.Select(m => m.Seq));
        }

        var pulled = await newcomersPhone.PullAsync(group.ConversationId, 0, beforeSeq: 3);
        Assert.Equal((2L, 0), (pulled.HistoryStartsAfterSeq, pulled.Messages.Count));

        // Only owners and admins change it, and only by saying how: a body without it is refused, not read as "show".
        Assert.Equal(HttpStatusCode.Forbidden, (await http.CallAsync(HttpMethod.Put, $"{path}/history", memberToken, new HistorySettingBody(false))).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.CallAsync(HttpMethod.Put, $"{path}/history", ownerToken, new { hiddenFromNewMembers = false })).StatusCode);
        using (var shown = await http.CallAsync(HttpMethod.Put, $"{path}/history", ownerToken, new HistorySettingBody(false)))
        {
            Assert.Equal(HttpStatusCode.OK, shown.StatusCode);
            Assert.False((await shown.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!.HidesHistoryFromNewMembers);
        }

        using var read = await http.CallAsync(HttpMethod.Get, path, memberToken);
        Assert.False((await read.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!.HidesHistoryFromNewMembers);
        using var asked = await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, new CreateGroupBody("Open", [member], HidesHistoryFromNewMembers: false));
        Assert.False((await asked.Content.ReadFromJsonAsync<GroupChangeView>(ApiCalls.Json))!.HidesHistoryFromNewMembers);
    }

    [Fact]
    public async Task A_user_who_lets_only_friends_add_them_is_left_out_of_a_strangers_group_and_the_creator_is_told()
    {
        var (owner, careful, member) = (await fixture.NewUserAsync("owner"), await fixture.NewUserAsync("careful"), await fixture.NewUserAsync("member"));
        var (ownerToken, carefulToken) = ((await fixture.LoginAsync(owner)).AccessToken, (await fixture.LoginAsync(careful)).AccessToken);
        using var http = fixture.Http();

        Assert.Equal(GroupAddPolicy.Everyone, await GroupAddsAsync());
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Put, "/api/me/settings/group-adds", carefulToken, new GroupAddsBody(GroupAddPolicy.Contacts))).StatusCode);
        Assert.Equal(GroupAddPolicy.Contacts, await GroupAddsAsync());
        Assert.Equal(HttpStatusCode.BadRequest, (await http.CallAsync(HttpMethod.Put, "/api/me/settings/group-adds", carefulToken, new { groupAdds = "nobody" })).StatusCode);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.CallAsync(HttpMethod.Put, "/api/me/settings/group-adds", carefulToken, new { groupAdds = 7 })).StatusCode);
        // Misspelt or left out: refused, not read as "everyone" (which would turn the protection off without a word).
        Assert.Equal(HttpStatusCode.BadRequest, (await http.CallAsync(HttpMethod.Put, "/api/me/settings/group-adds", carefulToken, new { groupAdd = "contacts" })).StatusCode);
        Assert.Equal(GroupAddPolicy.Contacts, await GroupAddsAsync());

        using var created = await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, new CreateGroupBody("Team", [careful, member]));
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var group = (await created.Content.ReadFromJsonAsync<GroupChangeView>(ApiCalls.Json))!;
        Assert.Equal(2, group.MemberCount);
        Assert.Equal([careful], group.NotAdded);

        using var added = await http.CallAsync(HttpMethod.Post, $"/api/groups/{ApiCalls.Path(group.ConversationId)}/members", ownerToken, new MembersBody([careful]));
        Assert.Equal(HttpStatusCode.OK, added.StatusCode);
        Assert.Equal([careful], (await added.Content.ReadFromJsonAsync<GroupChangeView>(ApiCalls.Json))!.NotAdded);

        async Task<GroupAddPolicy> GroupAddsAsync()
        {
            using var response = await http.CallAsync(HttpMethod.Get, "/api/me/settings/group-adds", carefulToken);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<GroupAddsBody>(ApiCalls.Json))!.GroupAdds!.Value;
        }
    }

    [Fact]
    public async Task A_users_groups_are_listed_a_page_at_a_time_in_id_order_with_a_link_to_the_next()
    {
        var (owner, member) = (await fixture.NewUserAsync("owner"), await fixture.NewUserAsync("member"));
        var memberToken = (await fixture.LoginAsync(member)).AccessToken;
        var ownerToken = (await fixture.LoginAsync(owner)).AccessToken;
        using var http = fixture.Http();
        var created = new List<string>();
        foreach (var name in new[] { "c", "a", "b" })
        {
            using var response = await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, new CreateGroupBody(name, [member]));
            created.Add((await response.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!.ConversationId);
        }

        created.Sort(StringComparer.Ordinal);
        using var first = await http.CallAsync(HttpMethod.Get, "/api/groups?limit=2", memberToken);
        Assert.Equal(created[..2], (await first.Content.ReadFromJsonAsync<List<GroupInfo>>(ApiCalls.Json))!.Select(g => g.ConversationId));
        var next = Assert.Single(first.Headers.GetValues("Link"));
        Assert.Equal($"</api/groups?after={Uri.EscapeDataString(created[1])}&limit=2>; rel=\"next\"", next);

        using var second = await http.CallAsync(HttpMethod.Get, next[1..next.IndexOf('>', StringComparison.Ordinal)], memberToken);
        Assert.Equal(created[2..], (await second.Content.ReadFromJsonAsync<List<GroupInfo>>(ApiCalls.Json))!.Select(g => g.ConversationId));
        Assert.False(second.Headers.Contains("Link"));
    }

    [Fact]
    public async Task A_group_creation_retried_with_its_request_id_makes_one_group()
    {
        var (owner, member, other) = (await fixture.NewUserAsync("owner"), await fixture.NewUserAsync("member"), await fixture.NewUserAsync("other"));
        var (ownerToken, otherToken) = ((await fixture.LoginAsync(owner)).AccessToken, (await fixture.LoginAsync(other)).AccessToken);
        using var http = fixture.Http();
        var body = new CreateGroupBody("Trip", [member], RequestId: Guid.NewGuid().ToString());

        var first = await CreateAsync(ownerToken, body);
        var retried = await CreateAsync(ownerToken, body);
        Assert.Equal((first.ConversationId, 2), (retried.ConversationId, retried.MemberCount));
        using (var mine = await http.CallAsync(HttpMethod.Get, "/api/groups", ownerToken))
        {
            Assert.Equal([first.ConversationId], (await mine.Content.ReadFromJsonAsync<List<GroupInfo>>(ApiCalls.Json))!.Select(g => g.ConversationId));
        }

        // Another user's request with the same id is another group; a request id that is not one is refused.
        Assert.NotEqual(first.ConversationId, (await CreateAsync(otherToken, body)).ConversationId);
        Assert.Equal(HttpStatusCode.BadRequest, (await http.CallAsync(HttpMethod.Post, "/api/groups", ownerToken, body with { RequestId = "two words" })).StatusCode);

        async Task<GroupInfo> CreateAsync(string token, CreateGroupBody create)
        {
            using var created = await http.CallAsync(HttpMethod.Post, "/api/groups", token, create);
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
            return (await created.Content.ReadFromJsonAsync<GroupInfo>(ApiCalls.Json))!;
        }
    }

    [Fact]
    public async Task A_system_account_sends_a_notice_to_a_list_of_users_with_the_api_key()
    {
        var system = Ids.User("notices");
        await fixture.CreateAccountAsync(system, AccountRole.System);
        var users = new[] { await fixture.NewUserAsync("u0"), await fixture.NewUserAsync("u1") };
        await using var u0Phone = await fixture.ConnectAsync(users[0]);
        using var http = fixture.Http();
        var body = new SystemSendBody(system, "notice-1", new ContentBody(ContentType.Text, "maintenance at 02:00"), ToUserIds: users, Class: MessageClass.Notification, CollapseKey: "maintenance");

        var first = await SendAsync(body);
        var retried = await SendAsync(body);

        Assert.All(first.Results, r => Assert.Equal((SendStatus.Sent, 1L), (r.Status, r.Seq)));
        Assert.All(retried.Results, r => Assert.Equal((SendStatus.Duplicate, 1L), (r.Status, r.Seq)));
        Assert.Equal("maintenance at 02:00", Assert.Single(await u0Phone.TakeAsync(1)).Content.Text);

        // Only system and robot accounts may send this way.
        var plain = await fixture.NewUserAsync("plain");
        using var refused = await fixture.AdminCallAsync(HttpMethod.Post, "/api/system/messages", body with { FromUserId = plain });
        Assert.Equal(HttpStatusCode.Forbidden, refused.StatusCode);

        // A reply names a message of one conversation: to a list of users, seq 1 would be another message in each.
        using var reply = await fixture.AdminCallAsync(HttpMethod.Post, "/api/system/messages",
            body with { ClientMsgId = "notice-2", Content = new ContentBody(ContentType.Text, "as announced", ReplyToSeq: 1), Class = null, CollapseKey = null });
        Assert.Equal(HttpStatusCode.BadRequest, reply.StatusCode);

        async Task<SystemSendResponse> SendAsync(SystemSendBody send)
        {
            using var response = await fixture.AdminCallAsync(HttpMethod.Post, "/api/system/messages", send);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            return (await response.Content.ReadFromJsonAsync<SystemSendResponse>(ApiCalls.Json))!;
        }
    }

    [Fact]
    public async Task The_OpenAPI_document_is_served_and_lists_the_api()
    {
        using var http = fixture.Http();
        var document = await http.GetStringAsync("/openapi/v1.json");

        Assert.Contains("/api/auth/login", document, StringComparison.Ordinal);
        Assert.Contains("/api/conversations/{conversationId}/messages", document, StringComparison.Ordinal);
        Assert.Contains("/api/sync", document, StringComparison.Ordinal);
    }
}
