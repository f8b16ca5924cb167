using System.Net;
using Microsoft.AspNetCore.SignalR.Client;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Web;

/// <summary>The chat hub with the .NET SignalR client, in both protocols, against a real edge host and silo.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class ChatHubTests(EdgeFixture fixture)
{
    private int Port => fixture.Edge.Endpoints.HttpPort;

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_browser_registers_and_forgets_its_push_token_for_its_own_device(bool messagePack)
    {
        var alice = await fixture.NewUserAsync("alice");
        var login = await fixture.LoginAsync(alice, "laptop");
        await using var web = await HubClient.ConnectAsync(Port, login.AccessToken, messagePack, deviceId: "laptop");
        var user = fixture.Orleans.GetGrain<Orleans.Im.Users.IUserGrain>(alice);

        Assert.NotNull((await web.Connection.InvokeAsync<HubResult>("SetPushToken", "Web Push", "token")).Error);
        Assert.Null((await web.Connection.InvokeAsync<HubResult>("SetPushToken", "webpush", "subscription-abc")).Error);
        var registered = Assert.Single(await user.GetPushTokensAsync());
        Assert.Equal(("laptop", "webpush", login.SessionId), (registered.Key, registered.Value.Provider, registered.Value.SessionId));

        Assert.Null((await web.Connection.InvokeAsync<HubResult>("SetPushToken", "webpush", "")).Error);
        Assert.Empty(await user.GetPushTokensAsync());
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Every_operation_works_and_pushes_arrive(bool messagePack)
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var aliceWeb = await HubClient.ConnectAsync(Port, (await fixture.LoginAsync(alice)).AccessToken, messagePack);
        await using var bobWeb = await HubClient.ConnectAsync(Port, (await fixture.LoginAsync(bob)).AccessToken, messagePack);
        var hub = aliceWeb.Connection;

        var ack = await hub.InvokeAsync<HubSendResult>("Send", conversationId, Text("c1", "hello over SignalR"));
        var retry = await hub.InvokeAsync<HubSendResult>("Send", conversationId, Text("c1", "hello over SignalR"));
        Assert.Equal((1L, false, (string?)null), (ack.Seq, ack.Duplicate, ack.Error));
        Assert.Equal((1L, true, ack.ServerTime), (retry.Seq, retry.Duplicate, retry.ServerTime));
        var pushed = await bobWeb.WaitForAsync(e => e.Type == "message" && e.Seq == 1);
        Assert.Equal(("hello over SignalR", alice), (pushed.Message!.Content!.Text, pushed.Message.SenderId));

        await hub.InvokeAsync<HubSendResult>("Send", conversationId, Text("c2", "second"));
        var history = await bobWeb.Connection.InvokeAsync<HubResult>("Pull", conversationId, 0L, (long?)null, 10);
        Assert.Equal(["hello over SignalR", "second"], history.History!.Messages.Select(m => m.Content!.Text));
        var older = await bobWeb.Connection.InvokeAsync<HubResult>("Pull", conversationId, 0L, (long?)2, 10);
        Assert.Equal([1L], older.History!.Messages.Select(m => m.Seq));

        var read = await bobWeb.Connection.InvokeAsync<HubResult>("MarkRead", conversationId, 2L);
        Assert.Equal((2L, 0L), (read.Conversation!.ReadSeq, read.Conversation.Unread));
        var sync = await bobWeb.Connection.InvokeAsync<SyncResponse>("Sync", 0L);
        Assert.Contains(sync.Conversations, c => c.ConversationId == conversationId && c.ReadSeq == 2);
        await aliceWeb.WaitForAsync(e => e.Type == "readReceipt" && e.Seq == 2 && e.UserId == bob);

        Assert.Null((await hub.InvokeAsync<HubResult>("Edit", conversationId, 2L, new ContentBody(ContentType.Text, "second (edited)"))).Error);
        Assert.Null((await hub.InvokeAsync<HubResult>("Recall", conversationId, 1L)).Error);
        Assert.Null((await bobWeb.Connection.InvokeAsync<HubResult>("Delete", conversationId, 2L)).Error);
        var edited = await bobWeb.WaitForAsync(e => e.Type == "changed" && e.Seq == 2);
        Assert.Equal(("second (edited)", MessageState.Edited), (edited.Message!.Content!.Text, edited.Message.State));
        var recalled = await bobWeb.WaitForAsync(e => e.Type == "changed" && e.Seq == 1);
        Assert.Equal(MessageState.Recalled, recalled.Message!.State);
        var afterDelete = await bobWeb.Connection.InvokeAsync<HubResult>("Pull", conversationId, 0L, (long?)null, 10);
        Assert.Equal([MessageState.Recalled, MessageState.Deleted], afterDelete.History!.Messages.Select(m => m.State));

        Assert.Null((await hub.InvokeAsync<HubResult>("Typing", conversationId)).Error);
        var typing = await bobWeb.WaitForAsync(e => e.Type == "typing");
        Assert.Equal((conversationId, alice), (typing.ConversationId, typing.UserId));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task Authorization_failures_are_refused(bool messagePack)
    {
        var alice = await fixture.NewUserAsync("alice");
        var token = (await fixture.LoginAsync(alice)).AccessToken;

        await using var anonymous = HubClient.Build(Port, null, messagePack);
        var noToken = await Assert.ThrowsAsync<HttpRequestException>(() => anonymous.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, noToken.StatusCode);
        await using var forged = HubClient.Build(Port, token[..^4] + "AAAA", messagePack);
        var badToken = await Assert.ThrowsAsync<HttpRequestException>(() => forged.StartAsync());
        Assert.Equal(HttpStatusCode.Unauthorized, badToken.StatusCode);
        await using var foreign = HubClient.Build(Port, token, messagePack, origin: "https://evil.example");
        var badOrigin = await Assert.ThrowsAsync<HttpRequestException>(() => foreign.StartAsync());
        Assert.Equal(HttpStatusCode.Forbidden, badOrigin.StatusCode);

        await using var web = await HubClient.ConnectAsync(Port, token, messagePack);
        var stranger = GrainKeys.P2P(Ids.User("x"), Ids.User("y"));
        Assert.Equal("not_found", (await web.Connection.InvokeAsync<HubSendResult>("Send", stranger, Text("c", "hi"))).Error);
        Assert.Equal("not_found", (await web.Connection.InvokeAsync<HubResult>("Pull", stranger, 0L, (long?)null, 10)).Error);
        Assert.Equal("not_found", (await web.Connection.InvokeAsync<HubResult>("Recall", "garbage", 1L)).Error);
    }

    [Fact]
    public async Task A_page_of_an_allowed_origin_is_let_through_the_negotiates_preflight_and_another_is_not()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__AllowedOrigins__0"] = "https://shop.example",
        });
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edge.Endpoints.HttpPort}") };

        // What a browser asks before the negotiate POST of the JavaScript client (its token and SignalR's headers).
        async Task<HttpResponseMessage> PreflightAsync(string origin)
        {
            using var preflight = new HttpRequestMessage(HttpMethod.Options, $"{ChatHub.Path}/negotiate?negotiateVersion=1");
            preflight.Headers.Add("Origin", origin);
            preflight.Headers.Add("Access-Control-Request-Method", "POST");
            preflight.Headers.Add("Access-Control-Request-Headers", "authorization,x-requested-with,x-signalr-user-agent");
            return await http.SendAsync(preflight);
        }

        using var allowed = await PreflightAsync("https://shop.example");
        Assert.True(allowed.IsSuccessStatusCode, $"preflight answered {allowed.StatusCode}");
        Assert.Equal("https://shop.example", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Origin")));
        // The JavaScript client negotiates with credentials by default: without this the browser drops the answer.
        Assert.Equal("true", Assert.Single(allowed.Headers.GetValues("Access-Control-Allow-Credentials")));
        using var foreign = await PreflightAsync("https://evil.example");
        Assert.False(foreign.Headers.Contains("Access-Control-Allow-Origin"));
    }

    [Theory]
    [InlineData(false)]
    [InlineData(true)]
    public async Task A_reconnecting_web_client_catches_up_by_sync(bool messagePack)
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var bobToken = (await fixture.LoginAsync(bob)).AccessToken;
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await alicePhone.SendTextAsync(conversationId, "before");
        long version;
        await using (var bobWeb = await HubClient.ConnectAsync(Port, bobToken, messagePack))
        {
            version = (await bobWeb.Connection.InvokeAsync<SyncResponse>("Sync", 0L)).Version;
        }

        for (var i = 0; i < 3; i++)
        {
            await alicePhone.SendTextAsync(conversationId, $"while away {i}");
        }

        await using var again = await HubClient.ConnectAsync(Port, bobToken, messagePack);
        var sync = await again.Connection.InvokeAsync<SyncResponse>("Sync", version);
        var entry = Assert.Single(sync.Conversations);
        Assert.Equal((conversationId, 4L, 4L), (entry.ConversationId, entry.LastSeq, entry.Unread));
        var missed = await again.Connection.InvokeAsync<HubResult>("Pull", conversationId, 1L, (long?)null, 50);
        Assert.Equal(["while away 0", "while away 1", "while away 2"], missed.History!.Messages.Select(m => m.Content!.Text));
    }

    [Fact]
    public async Task A_TCP_client_and_a_web_client_chat_with_each_other()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = await fixture.NewUserAsync("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await using var bobWeb = await HubClient.ConnectAsync(Port, (await fixture.LoginAsync(bob)).AccessToken, messagePack: false);

        await alicePhone.SendTextAsync(conversationId, "from the phone");
        Assert.Equal("from the phone", (await bobWeb.WaitForAsync(e => e.Type == "message" && e.Seq == 1)).Message!.Content!.Text);
        await bobWeb.Connection.InvokeAsync<HubSendResult>("Send", conversationId, Text("w1", "from the browser"));

        var received = await alicePhone.TakeAsync(2);
        Assert.Equal(["from the phone", "from the browser"], received.Select(m => m.Content.Text));
    }

    private static SendBody Text(string clientMsgId, string text) => new(clientMsgId, new ContentBody(ContentType.Text, text));
}
