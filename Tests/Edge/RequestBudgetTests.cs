using System.Diagnostics;
using System.Globalization;
using Microsoft.AspNetCore.SignalR;
using Microsoft.AspNetCore.SignalR.Client;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The per-connection request budget (<c>IM:Edge:RequestsPerSecond</c>, <c>RequestBurst</c>) on an edge host of its own
/// with a small one: past the burst a request is answered "rate limited" (retryable) and the connection stays; pings and
/// sends are not counted; a connection token costs <see cref="RequestCosts.ConnectionToken"/>; the budget refills; the
/// hub answers the same way. The shared fixture's edge lifts the budget, like the send limits.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class RequestBudgetTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private const int Burst = 30;
    private const double RatePerSecond = 0.5;
    private const int Requests = 40;
    private const int ExtraTypings = 20;

    /// <summary>Instant messages sent at most until one is refused: more than the budget refills in the seconds the typings take.</summary>
    private const int InstantTries = 6;
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private Task<RunningEdge> StartEdgeAsync() =>
        fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__RequestsPerSecond"] = RatePerSecond.ToString(CultureInfo.InvariantCulture),
            ["IM__Edge__RequestBurst"] = Burst.ToString(CultureInfo.InvariantCulture),
        });

    [Fact]
    public async Task A_tcp_client_past_its_budget_is_answered_rate_limited_keeps_its_connection_and_its_sends_and_gets_more_in_time()
    {
        await using var edge = await StartEdgeAsync();
        var user = Ids.User("budget");
        await using var raw = await LogInAsync(edge, fixture.Tokens.Issue(user, "session-budget"), "budget");

        // More syncs than the burst, all written at once: the first Burst are served, the rest refused, but for what
        // the budget refilled while they were served.
        var started = Stopwatch.StartNew();
        for (var i = 1; i <= Requests; i++)
        {
            await raw.SendAsync(V1.Op.Sync, (uint)i, new V1.SyncRequest { SinceVersion = 0 });
        }

        var (served, refused) = await CountAnswersAsync(raw, Requests);
        var refilled = (int)Math.Ceiling(started.Elapsed.TotalSeconds * RatePerSecond);
        output.WriteLine($"{served} served, {refused} refused in {started.Elapsed.TotalSeconds:F1} s");
        Assert.InRange(served, Burst, Burst + refilled);
        Assert.Equal(Requests - served, refused);
        Assert.True(refused > 0, "some requests must be refused");

        // Over budget: heartbeats and sends (limited per user elsewhere) still go through, on the same connection.
        await raw.PingAsync();
        var conversationId = GrainKeys.P2P(user, Ids.User("peer"));
        await raw.SendAsync(V1.Op.Send, 100, Send(conversationId, V1.MessageClass.Persistent));
        var ack = await raw.ReadAnswerAsync(Patience);
        Assert.Equal(V1.Op.SendAck, ack?.Op);
        Assert.Null(V1.SendAck.Parser.ParseFrom(ack!.Value.Body).Error);

        // The budget refills at RatePerSecond: a sync is served again after a while.
        var again = await Eventually.ReturnsAsync(async () =>
        {
            await raw.SendAsync(V1.Op.Sync, 101, new V1.SyncRequest { SinceVersion = 0 });
            return (await raw.ReadAnswerAsync(Patience))?.Op;
        }, op => op == V1.Op.SyncOk, TimeSpan.FromSeconds(15));
        Assert.Equal(V1.Op.SyncOk, again);

        var scrape = await PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort);
        Assert.True(scrape.Value("im_edge_requests_rate_limited_total{transport=\"tcp\"}") >= refused);
    }

    [Fact]
    public async Task Typing_and_instant_messages_are_counted_and_a_reconnect_does_not_refill_the_budget()
    {
        await using var edge = await StartEdgeAsync();
        var user = Ids.User("reconnects");
        var conversationId = GrainKeys.P2P(user, Ids.User("peer"));
        var token = fixture.Tokens.Issue(user, "session-reconnects");
        var started = Stopwatch.StartNew();
        await using (var first = await LogInAsync(edge, token, "phone"))
        {

            // Typing is answered only when refused: the burst's worth goes through, then refusals come back (more than the
            // budget can refill while they are served, so the first answer is a refusal).
            for (var i = 1; i <= Burst + ExtraTypings; i++)
            {
                await first.SendAsync(V1.Op.Typing, (uint)i, new V1.TypingRequest { ConversationId = conversationId });
            }

            Assert.Equal(V1.ErrorCode.RateLimited, ErrorOf(await first.ReadAnswerAsync(Patience)));
            Assert.All(await QuietAfterAsync(first), refusal => Assert.Equal(V1.ErrorCode.RateLimited, ErrorOf(refusal)));

            // An instant message is refused in its ack; a stored one is not counted. (On a slow machine the refusals and the
            // quiet after them take seconds, in which a token or two comes back: an instant message may spend each first.)
            V1.ErrorCode? instantError = null;
            for (var i = 0; i < InstantTries && instantError is null; i++)
            {
                await first.SendAsync(V1.Op.Send, (uint)(1001 + i), Send(conversationId, V1.MessageClass.Instant));
                var instant = await first.ReadAnswerAsync(Patience);
                Assert.Equal(V1.Op.SendAck, instant?.Op);
                instantError = V1.SendAck.Parser.ParseFrom(instant!.Value.Body).Error?.Code;
            }

            Assert.Equal(V1.ErrorCode.RateLimited, instantError);
            await first.SendAsync(V1.Op.Send, 2001, Send(conversationId, V1.MessageClass.Persistent));
            var stored = await first.ReadAnswerAsync(Patience);
            Assert.Null(V1.SendAck.Parser.ParseFrom(stored!.Value.Body).Error);
        }

        // Logged out and in again, once the edge has seen the close: the new connection starts from the spent budget, not
        // a full one. Of a few syncs at most what refilled since is served.
        await Eventually.UntilAsync(async () => (await PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort)).Value("im_edge_sessions"), open => open == 0);
        await using var second = await LogInAsync(edge, token, "phone");
        const int Syncs = 5;
        for (var i = 1; i <= Syncs; i++)
        {
            await second.SendAsync(V1.Op.Sync, (uint)i, new V1.SyncRequest { SinceVersion = 0 });
        }

        var (served, refused) = await CountAnswersAsync(second, Syncs);
        output.WriteLine($"after the reconnect: {served} served, {refused} refused, {started.Elapsed.TotalSeconds:F1} s after the first login");
        Assert.InRange(served, 0, (int)Math.Ceiling(started.Elapsed.TotalSeconds * RatePerSecond));
        Assert.True(refused > 0, "a reconnect must not refill the budget");
    }

    [Fact]
    public async Task A_user_past_their_http_budget_gets_429_while_other_users_and_trusted_systems_do_not()
    {
        await using var edge = await StartEdgeAsync();
        using var http = fixture.Http(edge.Endpoints.HttpPort);
        var alice = fixture.Tokens.Issue(Ids.User("httpalice"), "session-http-alice");
        var bob = fixture.Tokens.Issue(Ids.User("httpbob"), "session-http-bob");

        var started = Stopwatch.StartNew();
        var served = 0;
        string? refusal = null;
        for (var i = 0; i < Requests; i++)
        {
            using var response = await http.CallAsync(HttpMethod.Get, "/api/sync", alice);
            if (response.StatusCode == System.Net.HttpStatusCode.OK)
            {
                served++;
            }
            else
            {
                Assert.Equal(System.Net.HttpStatusCode.TooManyRequests, response.StatusCode);
                Assert.True(response.Headers.RetryAfter?.Delta > TimeSpan.Zero, "a refusal says when to come back");
                refusal = await response.ProblemCodeAsync();
            }
        }

        output.WriteLine($"{served} served of {Requests} in {started.Elapsed.TotalSeconds:F1} s");
        Assert.InRange(served, Burst, Burst + 1 + (int)Math.Ceiling(started.Elapsed.TotalSeconds * RatePerSecond));
        Assert.Equal("rate_limited", refusal);

        // Another user's budget is their own; a trusted system's calls (API key) are not counted.
        using (var other = await http.CallAsync(HttpMethod.Get, "/api/sync", bob))
        {
            Assert.Equal(System.Net.HttpStatusCode.OK, other.StatusCode);
        }

        for (var i = 0; i < Burst + 5; i++)
        {
            using var system = await fixture.AdminCallAsync(HttpMethod.Get, "/api/admin/stats", httpPort: edge.Endpoints.HttpPort);
            Assert.NotEqual(System.Net.HttpStatusCode.TooManyRequests, system.StatusCode);
        }
    }

    /// <summary>A raw TCP connection to <paramref name="edge"/>, logged in.</summary>
    private static async Task<RawConnection> LogInAsync(RunningEdge edge, string token, string deviceId)
    {
        var raw = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
        await raw.LoginAsync(token, deviceId);
        return raw;
    }

    private static V1.SendRequest Send(string conversationId, V1.MessageClass messageClass) => new()
    {
        ConversationId = conversationId,
        ClientMsgId = Ids.ClientMsgId(),
        Content = new V1.Content { Type = V1.ContentType.Text, Text = "budgeted?" },
        Class = messageClass,
    };

    [Fact]
    public async Task A_connection_token_costs_more_than_other_requests()
    {
        await using var edge = await StartEdgeAsync();
        var user = Ids.User("tokens");
        await using var raw = await LogInAsync(edge, fixture.Tokens.Issue(user, "session-tokens"), "tokens");

        // A fresh budget holds one connection token (whatever the account answers) and not two.
        await raw.SendAsync(V1.Op.ConnectionToken, 1, new Google.Protobuf.WellKnownTypes.Empty());
        Assert.NotEqual(V1.ErrorCode.RateLimited, ErrorOf(await raw.ReadAnswerAsync(Patience)));
        await raw.SendAsync(V1.Op.ConnectionToken, 2, new Google.Protobuf.WellKnownTypes.Empty());
        Assert.Equal(V1.ErrorCode.RateLimited, ErrorOf(await raw.ReadAnswerAsync(Patience)));

        // What is left (Burst - ConnectionToken) still pays for ordinary requests.
        await raw.SendAsync(V1.Op.Sync, 3, new V1.SyncRequest { SinceVersion = 0 });
        Assert.Equal(V1.Op.SyncOk, (await raw.ReadAnswerAsync(Patience))?.Op);
    }

    [Fact]
    public async Task A_web_client_past_its_budget_is_answered_rate_limited_in_the_methods_own_form()
    {
        await using var edge = await StartEdgeAsync();
        var user = Ids.User("webbudget");
        await using var web = await HubClient.ConnectAsync(edge.Endpoints.HttpPort, fixture.Tokens.Issue(user, "session-web"), messagePack: false);
        var conversationId = GrainKeys.P2P(user, Ids.User("peer"));

        var started = Stopwatch.StartNew();
        var refused = 0;
        for (var i = 0; i < Requests; i++)
        {
            var result = await web.Connection.InvokeAsync<HubResult>("Pull", conversationId, 0L, (long?)null, 10);
            refused += result.Error == ChatHubFilter.RateLimited ? 1 : 0;
        }

        var refilled = (int)Math.Ceiling(started.Elapsed.TotalSeconds * RatePerSecond);
        output.WriteLine($"{Requests - refused} served, {refused} refused in {started.Elapsed.TotalSeconds:F1} s");
        Assert.InRange(Requests - refused, Burst, Burst + refilled);
        Assert.True(refused > 0, "some pulls must be refused");

        // A method without an error field of its own fails with the same code (the budget refills meanwhile, a token
        // every 2 s: a few tries spend what came back); an instant message answers in its own form; stored messages are
        // not counted.
        HubException? failure = null;
        for (var i = 0; i < 5 && failure is null; i++)
        {
            failure = await Record.ExceptionAsync(() => web.Connection.InvokeAsync<object>("Sync", 0L)) as HubException;
        }

        Assert.NotNull(failure);
        Assert.Contains(ChatHubFilter.RateLimited, failure.Message, StringComparison.Ordinal);
        HubSendResult? instant = null;
        for (var i = 0; i < 5 && instant?.Error is null; i++)
        {
            instant = await web.Connection.InvokeAsync<HubSendResult>("Send", conversationId,
                new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, "typing-like"), MessageClass.Instant));
        }

        Assert.Equal(ChatHubFilter.RateLimited, instant?.Error);
        var sent = await web.Connection.InvokeAsync<HubSendResult>("Send", conversationId,
            new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, "still sending")));
        Assert.Null(sent.Error);

        var scrape = await PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort);
        Assert.True(scrape.Value("im_edge_requests_rate_limited_total{transport=\"websockets\"}") >= refused + 2);
    }

    private static async Task<(int Served, int Refused)> CountAnswersAsync(RawConnection raw, int count)
    {
        var served = 0;
        var refused = 0;
        for (var i = 0; i < count; i++)
        {
            var answer = await raw.ReadAnswerAsync(Patience);
            Assert.NotNull(answer);
            if (answer.Value.Op == V1.Op.SyncOk)
            {
                served++;
                continue;
            }

            var error = V1.Error.Parser.ParseFrom(answer.Value.Body);
            Assert.Equal((V1.Op.Error, V1.ErrorCode.RateLimited, true), (answer.Value.Op, error.Code, error.Retryable));
            refused++;
        }

        return (served, refused);
    }

    /// <summary>The answers that come until a second passes without one.</summary>
    private static async Task<List<(V1.Op Op, uint RequestId, byte[] Body)?>> QuietAfterAsync(RawConnection raw)
    {
        var answers = new List<(V1.Op Op, uint RequestId, byte[] Body)?>();
        try
        {
            while (true)
            {
                answers.Add(await raw.ReadAnswerAsync(TimeSpan.FromSeconds(1)));
            }
        }
        catch (OperationCanceledException)
        {
            return answers;
        }
    }

    private static V1.ErrorCode? ErrorOf((V1.Op Op, uint RequestId, byte[] Body)? answer) =>
        answer is { Op: V1.Op.Error } error ? V1.Error.Parser.ParseFrom(error.Body).Code : null;
}
