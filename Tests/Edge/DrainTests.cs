using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.Extensions.Options;
using Orleans.Im.Client;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Edges;
using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// An edge host drained (SIGTERM) while its clients chat: every client follows the redirect to the other edge host, and
/// no acknowledged message is lost or duplicated. A cluster of its own: one silo and exactly two edge hosts, so "the
/// other edge" is one known process.
/// </summary>
[Trait("Category", "Integration")]
public sealed class DrainTests
{
    private const int Clients = 50;
    private const int MessagesPerClient = 40;
    // Edge A takes connections (and redirects them) until the window has passed and its clients have left, then exits.
    // The late client below must reach it before that: with a 3 s window a fresh-clone run once got there as A was
    // stopping ("Login: connection lost"). 8 s leaves room on a loaded machine; the chat itself takes ~4 s.
    private static readonly TimeSpan DrainWindow = TimeSpan.FromSeconds(8);
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task Draining_edge_A_while_50_clients_chat_moves_every_client_to_edge_B_without_losing_or_duplicating_an_acked_message()
    {
        await using var cluster = new SiloCluster("drain");
        await cluster.StartSiloAsync(settings: new Dictionary<string, string>
        {
            ["IM__Conversations__SendRatePerSecond"] = "100000",
            ["IM__Conversations__SendBurst"] = "100000",
        });
        var edgeA = await cluster.StartEdgeAsync(EdgeSettings("edge-a"));
        var edgeB = await cluster.StartEdgeAsync(EdgeSettings("edge-b"));
        using var httpB = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edgeB.Endpoints.HttpPort}") };
        var listed = await Eventually.ReturnsAsync(Edges(httpB), e => e.Count == 2);
        Assert.Equal(["edge-a", "edge-b"], listed.Select(e => e.EdgeId).Order());

        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);
        var users = Enumerable.Range(0, Clients).Select(i => Ids.User($"u{i}")).ToArray();
        var clients = users.Select(user => new ImClient(new ImClientOptions
        {
            Port = edgeA.Endpoints.TcpPort,
            TokenProvider = _ => Task.FromResult(tokens.Issue(user, "session-phone")),
            DeviceId = "phone",
            Platform = "test",
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            RequestTimeout = TimeSpan.FromSeconds(10),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
            // The short delays would spend the default 10 attempts in a few seconds, half of them on edge A once it has
            // exited (a redirect keeps the draining edge as the last candidate); the defaults (2 s doubling) give minutes.
            MaxReconnectAttempts = 60,
        })).ToArray();
        try
        {
            await Task.WhenAll(clients.Select(c => c.ConnectAsync()));
            Assert.All(clients, c => Assert.Equal($"127.0.0.1:{edgeA.Endpoints.TcpPort}", c.Endpoint));

            // Pairs chat: client 2k and 2k+1 share a conversation; each sends its messages one after the other.
            var acks = Enumerable.Range(0, Clients).Select(_ => new ConcurrentQueue<V1.SendAck>()).ToArray();
            var started = new CountdownEvent(Clients);
            var chatting = Enumerable.Range(0, Clients).Select(i => Task.Run(async () =>
            {
                var conversation = GrainKeys.P2P(users[i], users[i ^ 1]);
                for (var j = 0; j < MessagesPerClient; j++)
                {
                    acks[i].Enqueue(await clients[i].SendTextAsync(conversation, $"{i}:{j}", clientMsgId: $"m-{i}-{j}"));
                    if (j == 4)
                    {
                        started.Signal();
                    }

                    await Task.Delay(75);
                }
            })).ToArray();

            Assert.True(started.Wait(Bounded), "the clients did not start chatting");
            var stopping = edgeA.Process.StopAsync(Bounded);

            // Not ready from the first moment of the drain; and a client arriving now is sent on to B.
            using var httpA = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edgeA.Endpoints.HttpPort}") };
            var ready = await Eventually.ReturnsAsync(async () => (await httpA.GetAsync("/readyz")).StatusCode, s => s == HttpStatusCode.ServiceUnavailable);
            Assert.Equal(HttpStatusCode.ServiceUnavailable, ready);
            var late = Ids.User("late");
            await using var lateClient = new ImClient(new ImClientOptions
            {
                Port = edgeA.Endpoints.TcpPort,
                TokenProvider = _ => Task.FromResult(tokens.Issue(late, "session-phone")),
                DeviceId = "phone",
            });
            // As an app does, it connects again when a connect fails: B takes up to 50 moving clients at this moment, and a
            // fresh-clone run once saw the late login there fail (then A's, tried last, was the failure reported).
            var lateFailures = new List<string>();
            for (var attempt = 0; attempt < 5 && lateClient.Status != ImClientStatus.Connected; attempt++)
            {
                try
                {
                    await lateClient.ConnectAsync();
                }
                catch (Exception ex) when (ex is ImClientException or IOException or System.Net.Sockets.SocketException)
                {
                    lateFailures.Add($"{ex.GetType().Name}: {ex.Message}");
                    await Task.Delay(200);
                }
            }

            Assert.True(lateClient.Status == ImClientStatus.Connected, "the late client never connected: " + string.Join("; ", lateFailures));
            Assert.Equal($"127.0.0.1:{edgeB.Endpoints.TcpPort}", lateClient.Endpoint);
            Assert.True(lateClient.RedirectCount >= 1, "the late client was not redirected");

            var allChatted = Task.WhenAll(chatting);
            if (await Task.WhenAny(allChatted, Task.Delay(Bounded)) != allChatted)
            {
                // Say who is stuck and how, rather than only that the bound passed.
                Assert.Fail("clients still chatting after the bound: " + string.Join("; ", Enumerable.Range(0, Clients)
                    .Where(i => acks[i].Count < MessagesPerClient)
                    .Select(i => $"u{i} {clients[i].Status} on {clients[i].Endpoint}: {acks[i].Count} acked, {clients[i].UnackedCount} unacked, " +
                        $"{clients[i].ConnectionCount} connections, {clients[i].RedirectCount} redirects")));
            }

            await allChatted;
            Assert.True(await stopping, "edge A did not exit by itself after draining");

            // Everybody is on B now, and was moved by the redirect (not by a timeout). A client that sent its last message
            // before A closed its connection may still be on its way to B when A exits: its reconnect is waited for.
            await Eventually.UntilAsync(
                () => Task.FromResult(clients.Count(c => c.Status != ImClientStatus.Connected || c.Endpoint != $"127.0.0.1:{edgeB.Endpoints.TcpPort}")),
                moving => moving == 0);
            Assert.All(clients, c => Assert.Equal(($"127.0.0.1:{edgeB.Endpoints.TcpPort}", ImClientStatus.Connected), (c.Endpoint, c.Status)));
            Assert.All(clients, c => Assert.True(c.RedirectCount >= 1));

            var orleans = await cluster.ConnectClientAsync();
            for (var i = 0; i < Clients; i++)
            {
                // Each message acked once, with its own seq; a resend after the move got the original seq back.
                Assert.Equal(MessagesPerClient, acks[i].Count);
                Assert.All(acks[i], a => Assert.Contains(a.Status, new[] { V1.SendStatus.Sent, V1.SendStatus.Duplicate }));
                Assert.Equal(MessagesPerClient, acks[i].Select(a => a.Seq).Distinct().Count());
            }

            for (var pair = 0; pair < Clients; pair += 2)
            {
                var conversation = GrainKeys.P2P(users[pair], users[pair + 1]);
                var expectedIds = Enumerable.Range(0, MessagesPerClient).SelectMany(j => new[] { $"m-{pair}-{j}", $"m-{pair + 1}-{j}" }).Order().ToArray();

                // The log holds every acked message exactly once: seqs 1..2N, one per client message id.
                Assert.True(2 * MessagesPerClient <= Messages.MessageLimits.MaxPullLimit);
                var log = await orleans.GetGrain<IConversationGrain>(conversation).PullAsync(users[pair], new Messages.PullRequest(0, null, Messages.MessageLimits.MaxPullLimit));
                Assert.Equal(Enumerable.Range(1, 2 * MessagesPerClient).Select(s => (long)s), log.Messages.Select(m => m.Seq));
                Assert.Equal(expectedIds, log.Messages.Select(m => m.ClientMsgId).Order());
                var seqOf = log.Messages.ToDictionary(m => m.ClientMsgId, m => m.Seq);
                foreach (var member in new[] { pair, pair + 1 })
                {
                    Assert.All(acks[member], a => Assert.Equal(seqOf[a.ClientMsgId], a.Seq));

                    // Both devices show the whole conversation, in order, each message once, nothing more.
                    var shown = await clients[member].TakeAsync(2 * MessagesPerClient, TimeSpan.FromSeconds(30));
                    Assert.Equal(Enumerable.Range(1, 2 * MessagesPerClient).Select(s => (long)s), shown.Select(m => m.Seq));
                    Assert.Equal(expectedIds, shown.Select(m => m.ClientMsgId).Order());
                    await clients[member].AssertNoMoreAsync(TimeSpan.FromMilliseconds(100));
                }
            }

            // A left the directory: clients are offered B only.
            Assert.Equal(["edge-b"], (await Edges(httpB)()).Select(e => e.EdgeId));
        }
        finally
        {
            foreach (var client in clients)
            {
                await client.DisposeAsync();
            }
        }

        IReadOnlyDictionary<string, string> EdgeSettings(string edgeId) => new Dictionary<string, string>
        {
            ["IM__Edge__EdgeId"] = edgeId,
            ["IM__Edge__ReportInterval"] = "00:00:01",
            ["IM__Edge__DrainWindow"] = DrainWindow.ToString(),
            ["IM__Edge__DrainTimeout"] = "00:00:10",
            ["IM__Edge__UserSendRatePerSecond"] = "100000",
            ["IM__Edge__UserSendBurst"] = "100000",
        };
    }

    private static Func<Task<List<EdgeReport>>> Edges(HttpClient http) =>
        async () => (await http.GetFromJsonAsync<List<EdgeReport>>("/api/edges", ApiCalls.Json))!;
}

/// <summary>The admin call drains the edge host it is made on, for TCP and web clients alike.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Integration")]
public sealed class DrainByAdminCallTests(EdgeFixture fixture)
{
    [Fact]
    public async Task The_admin_drain_call_redirects_tcp_and_web_clients_to_another_edge_and_the_host_exits()
    {
        var extra = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__ReportInterval"] = "00:00:01",
            ["IM__Edge__DrainWindow"] = "00:00:01",
            ["IM__Edge__DrainTimeout"] = "00:00:05",
        });
        var user = Ids.User("moved");
        await using var phone = fixture.NewClient(user, "phone", port: extra.Endpoints.TcpPort);
        await phone.ConnectAsync();
        await using var browser = await HubClient.ConnectAsync(extra.Endpoints.HttpPort, fixture.Tokens.Issue(user, "session-web"), messagePack: true);

        // Refused without the key; accepted with it.
        using (var refused = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/edge/drain", apiKey: "wrong", httpPort: extra.Endpoints.HttpPort))
        {
            Assert.Equal(HttpStatusCode.Unauthorized, refused.StatusCode);
        }

        using (var accepted = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/edge/drain", httpPort: extra.Endpoints.HttpPort))
        {
            Assert.Equal(HttpStatusCode.Accepted, accepted.StatusCode);
        }

        // The call retried (its answer lost, say) joins the drain under way. Before, a second call stopped the host at
        // once, which closed every web connection without its redirect.
        using (var retried = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/edge/drain", httpPort: extra.Endpoints.HttpPort))
        {
            Assert.Equal(HttpStatusCode.Accepted, retried.StatusCode);
        }

        // A new hub connection is refused before its handshake (a balancer retries the next edge on 503); the open one
        // is redirected.
        using (var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{extra.Endpoints.HttpPort}") })
        {
            var refusedHub = await Eventually.ReturnsAsync(async () =>
            {
                using var negotiate = await http.PostAsync($"{Orleans.Im.EdgeHost.Hubs.ChatHub.Path}/negotiate?negotiateVersion=1", null);
                return (negotiate.StatusCode, negotiate.Headers.RetryAfter?.Delta);
            }, r => r.StatusCode == HttpStatusCode.ServiceUnavailable);
            Assert.Equal((HttpStatusCode.ServiceUnavailable, TimeSpan.FromSeconds(1)), refusedHub);
        }

        // The web page is told where the other edges' hubs are; the SDK client is already on another edge.
        var redirect = await browser.WaitForAsync(e => e.Type == "redirect");
        Assert.NotNull(redirect.Addresses);
        Assert.All(redirect.Addresses, a => Assert.EndsWith("/hubs/chat", a, StringComparison.Ordinal));
        Assert.DoesNotContain(redirect.Addresses, a => a.Contains($":{extra.Endpoints.HttpPort}/", StringComparison.Ordinal));
        var moved = await Eventually.ReturnsAsync(
            () => Task.FromResult((phone.Status, phone.RedirectCount)), s => s == (ImClientStatus.Connected, 1));
        Assert.Equal((ImClientStatus.Connected, 1), moved);
        Assert.NotEqual($"127.0.0.1:{extra.Endpoints.TcpPort}", phone.Endpoint);
        Assert.True(await Eventually.ReturnsAsync(() => Task.FromResult(extra.Process.HasExited), exited => exited, TimeSpan.FromSeconds(30)));
    }
}
