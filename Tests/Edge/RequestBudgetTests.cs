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
        await using var raw = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(user, "session-budget"), "budget");

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
        await raw.SendAsync(V1.Op.Send, 100, new V1.SendRequest
        {
            ConversationId = conversationId,
            ClientMsgId = Ids.ClientMsgId(),
            Content = new V1.Content { Type = V1.ContentType.Text, Text = "still sending" },
            Class = V1.MessageClass.Persistent,
        });
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
    public async Task A_connection_token_costs_more_than_other_requests()
    {
        await using var edge = await StartEdgeAsync();
        var user = Ids.User("tokens");
        await using var raw = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(user, "session-tokens"), "tokens");

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

        // A method without an error field of its own fails with the same code; sends are not counted.
        var failure = await Assert.ThrowsAsync<HubException>(() => web.Connection.InvokeAsync<object>("Sync", 0L));
        Assert.Contains(ChatHubFilter.RateLimited, failure.Message, StringComparison.Ordinal);
        var sent = await web.Connection.InvokeAsync<HubSendResult>("Send", conversationId,
            new SendBody(Ids.ClientMsgId(), new ContentBody(ContentType.Text, "still sending")));
        Assert.Null(sent.Error);

        var scrape = await PrometheusScrape.ReadAsync(edge.Endpoints.HttpPort);
        Assert.True(scrape.Value("im_edge_requests_rate_limited_total{transport=\"websockets\"}") >= refused + 1);
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

    private static V1.ErrorCode? ErrorOf((V1.Op Op, uint RequestId, byte[] Body)? answer) =>
        answer is { Op: V1.Op.Error } error ? V1.Error.Parser.ParseFrom(error.Body).Code : null;
}
