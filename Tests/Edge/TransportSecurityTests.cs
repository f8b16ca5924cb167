using System.Buffers.Text;
using System.Net;
using System.Text;
using Google.Protobuf;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The long-connection transports hold the same line as the HTTP API (<see cref="Api.AuthorizationMatrixTests"/>): bad
/// tokens are refused on TCP and SignalR alike, a non-member gets exactly what a missing conversation gives, and the
/// fields only the server may set (sender, seq, time) cannot be forged by a client on any transport.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class TransportSecurityTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task Expired_forged_unsigned_tampered_and_logged_out_tokens_are_refused_on_tcp_and_signalr()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = Ids.User("bob");
        var loggedOut = await fixture.LoginAsync(alice);
        using (var http = fixture.Http())
        {
            Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, "/api/auth/logout", loggedOut.AccessToken)).StatusCode);
        }

        var valid = fixture.Tokens.Issue(alice, "session-ok");
        var tokens = new Dictionary<string, string>
        {
            ["expired"] = new AccessTokens(Options.Create(new AuthOptions { SigningKey = fixture.Cluster.SigningKey, AccessTokenLifetime = TimeSpan.FromMinutes(-1) }), TimeProvider.System).Issue(alice, "s"),
            ["wrong signature"] = new AccessTokens(Options.Create(new AuthOptions { SigningKey = AccessTokens.NewSigningKey() }), TimeProvider.System).Issue(alice, "s"),
            ["alg none"] = AlgNoneToken(alice),
            ["another user's payload under alice's signature"] = Tampered(valid, alice, bob),
            ["empty"] = "",
            ["replayed after logout"] = loggedOut.AccessToken,
        };

        foreach (var (kind, token) in tokens)
        {
            // TCP: an unauthenticated error and a close. The revocation reaches every edge within about a second.
            var code = await Eventually.ReturnsAsync(() => TcpLoginAsync(token), c => c == V1.ErrorCode.Unauthenticated, Patience);
            output.WriteLine($"{kind,-50} tcp: {code}");
            Assert.Equal(V1.ErrorCode.Unauthenticated, code);

            // SignalR: the connection is refused before the hub is reached.
            await using var hub = HubClient.Build(fixture.Edge.Endpoints.HttpPort, token, messagePack: false);
            var refused = await Assert.ThrowsAsync<HttpRequestException>(() => hub.StartAsync());
            output.WriteLine($"{kind,-50} signalr: {refused.StatusCode}");
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        // The valid token itself is accepted on both.
        Assert.Equal(V1.ErrorCode.Unspecified, await TcpLoginAsync(valid));
        await using var ok = await HubClient.ConnectAsync(fixture.Edge.Endpoints.HttpPort, valid, messagePack: false);
    }

    [Fact]
    public async Task A_token_in_a_url_is_taken_by_the_hub_only()
    {
        var alice = await fixture.NewUserAsync("alice");
        var token = fixture.Tokens.Issue(alice, "session-url");
        using var http = fixture.Http();

        // The HTTP API wants the header: a token in the URL would sit in every proxy's access log.
        using (var inUrl = await http.GetAsync($"/api/me/sessions?access_token={Uri.EscapeDataString(token)}"))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, inUrl.StatusCode);
        }

        using (var inHeader = await http.CallAsync(HttpMethod.Get, "/api/me/sessions", token))
        {
            Assert.Equal(HttpStatusCode.OK, inHeader.StatusCode);
        }

        // The hub takes it there (a browser's WebSocket cannot send headers), and refuses a connection without one.
        using (var hubInUrl = await http.PostAsync($"{ChatHub.Path}/negotiate?negotiateVersion=1&access_token={Uri.EscapeDataString(token)}", null))
        {
            Assert.Equal(HttpStatusCode.OK, hubInUrl.StatusCode);
        }

        using (var hubWithout = await http.PostAsync($"{ChatHub.Path}/negotiate?negotiateVersion=1", null))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, hubWithout.StatusCode);
        }
    }

    [Fact]
    public async Task On_tcp_and_signalr_a_non_member_gets_exactly_what_a_missing_conversation_gives()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var mallory = Ids.User("mallory");
        var conversation = GrainKeys.P2P(alice, bob);
        var missing = GrainKeys.NewGroup();
        await using (var owner = await fixture.ConnectAsync(alice))
        {
            Assert.Equal(1, (await owner.SendTextAsync(conversation, "private")).Seq);
        }

        // TCP: every conversation operation, on the real one and on one that does not exist.
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(mallory, "session-raw"));
        var content = new V1.Content { Type = V1.ContentType.Text, Text = "x" };
        Func<string, (V1.Op, IMessage)>[] operations =
        [
            c => (V1.Op.Send, new V1.SendRequest { ConversationId = c, ClientMsgId = Ids.ClientMsgId(), Content = content }),
            c => (V1.Op.Pull, new V1.PullRequest { ConversationId = c, Limit = 10 }),
            c => (V1.Op.MarkRead, new V1.MarkReadRequest { ConversationId = c, Seq = 1 }),
            c => (V1.Op.Recall, new V1.RecallRequest { ConversationId = c, Seq = 1 }),
            c => (V1.Op.Edit, new V1.EditRequest { ConversationId = c, Seq = 1, Content = content }),
            c => (V1.Op.Delete, new V1.DeleteRequest { ConversationId = c, Seq = 1 }),
        ];
        var requestId = 10u;
        foreach (var operation in operations)
        {
            var (op, forbiddenBody) = operation(conversation);
            var forbidden = await AnswerAsync(raw, op, ++requestId, forbiddenBody);
            var (_, missingBody) = operation(missing);
            var absent = await AnswerAsync(raw, op, ++requestId, missingBody);
            output.WriteLine($"tcp {op,-10} non-member: {forbidden}; missing: {absent}");
            Assert.Equal(absent, forbidden);
            Assert.Contains("NotFound", forbidden, StringComparison.Ordinal);
        }

        // SignalR: the hub's methods answer the same way.
        await using var hub = await HubClient.ConnectAsync(fixture.Edge.Endpoints.HttpPort, fixture.Tokens.Issue(mallory, "session-web"), messagePack: false);
        foreach (var (method, args) in new (string, Func<string, object?[]>)[]
        {
            ("Pull", c => [c, 0L, null, 10]),
            ("MarkRead", c => [c, 1L]),
            ("Recall", c => [c, 1L]),
            ("Delete", c => [c, 1L]),
        })
        {
            var forbidden = await hub.Connection.InvokeCoreAsync<HubResult>(method, args(conversation));
            var absent = await hub.Connection.InvokeCoreAsync<HubResult>(method, args(missing));
            output.WriteLine($"signalr {method,-10} non-member: {forbidden.Error}; missing: {absent.Error}");
            Assert.NotNull(forbidden.Error);
            Assert.Equal(absent.Error, forbidden.Error);
        }

        var sent = await hub.Connection.InvokeCoreAsync<HubSendResult>("Send", [conversation, new { clientMsgId = Ids.ClientMsgId(), content = new { type = "text", text = "x" } }]);
        var sentToMissing = await hub.Connection.InvokeCoreAsync<HubSendResult>("Send", [missing, new { clientMsgId = Ids.ClientMsgId(), content = new { type = "text", text = "x" } }]);
        Assert.NotNull(sent.Error);
        Assert.Equal((sentToMissing.Error, 0L), (sent.Error, sent.Seq));
    }

    [Fact]
    public async Task Sender_seq_and_time_fields_sent_by_a_client_are_ignored_on_tcp_http_and_signalr()
    {
        var alice = await fixture.NewUserAsync("alice");
        var bob = Ids.User("bob");
        var conversation = GrainKeys.P2P(alice, bob);
        var farFuture = new DateTimeOffset(2100, 1, 1, 0, 0, 0, TimeSpan.Zero);

        // TCP: a send request with the fields of a stored message appended (sender_id, seq and server_time_ms of
        // messages.proto, unknown to SendRequest).
        await using (var raw = await RawConnection.OpenAsync(fixture.TcpPort))
        {
            await raw.LoginAsync(fixture.Tokens.Issue(alice, "session-raw"));
            var body = new V1.SendRequest { ConversationId = conversation, ClientMsgId = "forged-tcp", Content = new V1.Content { Type = V1.ContentType.Text, Text = "tcp" } }.ToByteArray();
            var forged = new List<byte>(body);
            var sender = Encoding.UTF8.GetBytes(bob);
            forged.AddRange([(6 << 3) | 2, (byte)sender.Length, .. sender]);
            forged.AddRange(Varint(7, 999));
            forged.AddRange(Varint(8, farFuture.ToUnixTimeMilliseconds()));
            await raw.SendRawAsync([.. RawConnection.Header((uint)forged.Count, V1.Op.Send, 5), .. forged]);
            var ack = await raw.ReadAnswerAsync(Patience);
            Assert.Equal(V1.Op.SendAck, ack?.Op);
            Assert.Equal(1, V1.SendAck.Parser.ParseFrom(ack!.Value.Body).Seq);
        }

        // HTTP: the same fields in the JSON body.
        using (var http = fixture.Http())
        {
            var token = (await fixture.LoginAsync(alice)).AccessToken;
            using var request = new HttpRequestMessage(HttpMethod.Post, $"/api/conversations/{ApiCalls.Path(conversation)}/messages")
            {
                Content = new StringContent($$"""{"clientMsgId":"forged-http","content":{"type":"text","text":"http"},"senderId":"{{bob}}","seq":999,"serverTime":"2100-01-01T00:00:00Z"}""", Encoding.UTF8, "application/json"),
            };
            request.Headers.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", token);
            using var response = await http.SendAsync(request);
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }

        // SignalR: likewise in the hub call's argument.
        await using (var hub = await HubClient.ConnectAsync(fixture.Edge.Endpoints.HttpPort, fixture.Tokens.Issue(alice, "session-web"), messagePack: false))
        {
            var result = await hub.Connection.InvokeCoreAsync<HubSendResult>("Send",
                [conversation, new { clientMsgId = "forged-hub", content = new { type = "text", text = "hub" }, senderId = bob, seq = 999, serverTime = farFuture }]);
            Assert.Null(result.Error);
        }

        // What was stored: alice's, at seqs 1..3 in order, at server times of now.
        await using var reader = await fixture.ConnectAsync(bob);
        var log = (await reader.PullAsync(conversation, 0)).Messages;
        foreach (var message in log)
        {
            output.WriteLine($"#{message.Seq} {message.ClientMsgId} from {message.SenderId} at {DateTimeOffset.FromUnixTimeMilliseconds(message.ServerTimeMs):O}");
        }

        Assert.Equal(["forged-tcp", "forged-http", "forged-hub"], log.Select(m => m.ClientMsgId));
        Assert.Equal([1L, 2L, 3L], log.Select(m => m.Seq));
        Assert.All(log, m => Assert.Equal(alice, m.SenderId));
        Assert.All(log, m => Assert.True(DateTimeOffset.FromUnixTimeMilliseconds(m.ServerTimeMs) < DateTimeOffset.UtcNow.AddDays(1)));
    }

    private async Task<V1.ErrorCode> TcpLoginAsync(string token)
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        await raw.SendAsync(V1.Op.Login, 1, new V1.LoginRequest { Token = token, DeviceId = "probe", Platform = "test", ProtocolVersion = 1 });
        var answer = await raw.ReadFrameAsync(Patience);
        return answer?.Op switch
        {
            V1.Op.LoginOk => V1.ErrorCode.Unspecified,
            V1.Op.Error => V1.Error.Parser.ParseFrom(answer.Value.Body).Code,
            _ => V1.ErrorCode.Internal,
        };
    }

    /// <summary>The answer to one request, as text: the error code, wherever the operation puts it.</summary>
    private static async Task<string> AnswerAsync(RawConnection raw, V1.Op op, uint requestId, IMessage body)
    {
        await raw.SendAsync(op, requestId, body);
        while (await raw.ReadFrameAsync(Patience) is { } frame)
        {
            if (frame.RequestId != requestId)
            {
                continue;
            }

            return frame.Op switch
            {
                V1.Op.Error => "error " + V1.Error.Parser.ParseFrom(frame.Body).Code,
                V1.Op.SendAck => "ack " + V1.SendAck.Parser.ParseFrom(frame.Body).Error?.Code,
                V1.Op.PullOk => "pull " + V1.PullResponse.Parser.ParseFrom(frame.Body).Error?.Code,
                V1.Op.Result => "result " + V1.Result.Parser.ParseFrom(frame.Body).Error?.Code,
                _ => frame.Op.ToString(),
            };
        }

        return "closed";
    }

    private static byte[] Varint(int field, long value)
    {
        var bytes = new List<byte> { (byte)(field << 3) };
        var remaining = (ulong)value;
        do
        {
            var next = (byte)(remaining & 0x7F);
            remaining >>= 7;
            bytes.Add(remaining == 0 ? next : (byte)(next | 0x80));
        }
        while (remaining != 0);
        return [.. bytes];
    }

    // A JWT-style token that names no algorithm and carries no signature.
    private static string AlgNoneToken(string userId)
    {
        var header = Base64Url.EncodeToString(Encoding.UTF8.GetBytes("""{"alg":"none","typ":"JWT"}"""));
        var payload = Base64Url.EncodeToString(Encoding.UTF8.GetBytes($$"""{"Sub":"{{userId}}","Sid":"s","Exp":{{DateTimeOffset.UtcNow.AddHours(1).ToUnixTimeSeconds()}}}"""));
        return $"{header}.{payload}.";
    }

    // Alice's valid token with its payload rewritten to name another user; the signature is alice's.
    private static string Tampered(string token, string from, string to)
    {
        var dot = token.IndexOf('.', StringComparison.Ordinal);
        var payload = Encoding.UTF8.GetString(Base64Url.DecodeFromChars(token.AsSpan(0, dot)));
        return Base64Url.EncodeToString(Encoding.UTF8.GetBytes(payload.Replace(from, to, StringComparison.Ordinal))) + token[dot..];
    }
}
