using System.Net;
using System.Net.Http.Headers;
using System.Text;
using System.Text.Json;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Web;

/// <summary>
/// Which SignalR transports the chat hub offers (<c>IM:Edge:HubTransports</c>), and, on long polling, that a request
/// carrying a connection's token is refused under another sign-in: raw HTTP requests, as a client that holds a leaked
/// token would make them.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class HubTransportTests(EdgeFixture fixture)
{
    private const char RecordSeparator = '\u001e';
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    [Fact]
    public async Task By_default_the_hub_offers_websockets_alone()
    {
        var alice = await fixture.NewUserAsync("transports");
        var login = await fixture.LoginAsync(alice, "laptop");
        using var http = fixture.Http();

        var negotiated = await NegotiateAsync(http, login.AccessToken, "laptop");

        var transport = Assert.Single(negotiated.GetProperty("availableTransports").EnumerateArray());
        Assert.Equal("WebSockets", transport.GetProperty("transport").GetString());
    }

    [Fact]
    public async Task On_long_polling_another_user_holding_a_connections_token_can_neither_send_nor_read_as_it()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__HubTransports"] = "WebSockets, LongPolling",
        });
        var port = edge.Endpoints.HttpPort;
        var alice = await fixture.NewUserAsync("polling-owner");
        var mallory = await fixture.NewUserAsync("polling-thief");
        var aliceToken = (await fixture.LoginAsync(alice, "laptop", port)).AccessToken;
        var aliceOtherSession = (await fixture.LoginAsync(alice, "tablet", port)).AccessToken;
        var malloryToken = (await fixture.LoginAsync(mallory, "laptop", port)).AccessToken;
        using var http = fixture.Http(port);

        var negotiated = await NegotiateAsync(http, aliceToken, "laptop");
        Assert.Contains(negotiated.GetProperty("availableTransports").EnumerateArray(), t => t.GetProperty("transport").GetString() == "LongPolling");
        var connection = $"{ChatHub.Path}?id={Uri.EscapeDataString(negotiated.GetProperty("connectionToken").GetString()!)}&deviceId=laptop";

        // Long polling starts with a poll answered at once, then the handshake; a call answered proves the hub ran
        // OnConnectedAsync, so the connection is the session's.
        using (var start = await SendAsync(http, HttpMethod.Get, connection, aliceToken))
        {
            Assert.Equal(HttpStatusCode.OK, start.StatusCode);
        }

        Assert.Equal(HttpStatusCode.OK, await PostAsync(http, connection, aliceToken, """{"protocol":"json","version":1}"""));
        Assert.Equal(HttpStatusCode.OK, await PostAsync(http, connection, aliceToken, """{"type":1,"invocationId":"1","target":"Sync","arguments":[0]}"""));
        await PollUntilCompletedAsync(http, connection, aliceToken, "1");

        // Another user, and the same user's other session (another device's sign-in), are refused both ways.
        Assert.Equal(HttpStatusCode.Forbidden, await PostAsync(http, connection, malloryToken, """{"type":1,"invocationId":"2","target":"SetPresence","arguments":[true]}"""));
        Assert.Equal(HttpStatusCode.Forbidden, await PostAsync(http, connection, aliceOtherSession, """{"type":1,"invocationId":"3","target":"SetPresence","arguments":[true]}"""));
        using (var stolenPoll = await SendAsync(http, HttpMethod.Get, connection, malloryToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, stolenPoll.StatusCode);
        }

        // Routing ignores a trailing slash: the same path with one is the hub's too, and is checked alike.
        var slashed = connection.Replace("?", "/?", StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, await PostAsync(http, slashed, malloryToken, """{"type":1,"invocationId":"5","target":"SetPresence","arguments":[true]}"""));
        using (var stolenPoll = await SendAsync(http, HttpMethod.Get, slashed, malloryToken))
        {
            Assert.Equal(HttpStatusCode.Forbidden, stolenPoll.StatusCode);
        }

        // The connection's own sign-in goes on.
        Assert.Equal(HttpStatusCode.OK, await PostAsync(http, connection, aliceToken, """{"type":1,"invocationId":"4","target":"Sync","arguments":[0]}"""));
        await PollUntilCompletedAsync(http, connection, aliceToken, "4");
        using var closed = await SendAsync(http, HttpMethod.Delete, connection, aliceToken);
        Assert.Equal(HttpStatusCode.Accepted, closed.StatusCode);
    }

    private static async Task<JsonElement> NegotiateAsync(HttpClient http, string accessToken, string deviceId)
    {
        using var response = await SendAsync(http, HttpMethod.Post, $"{ChatHub.Path}/negotiate?negotiateVersion=1&deviceId={deviceId}", accessToken);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        return JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone();
    }

    private static async Task<HttpStatusCode> PostAsync(HttpClient http, string path, string accessToken, string message)
    {
        using var response = await SendAsync(http, HttpMethod.Post, path, accessToken, message + RecordSeparator);
        return response.StatusCode;
    }

    /// <summary>Polls as the connection's client does until the completion of the call <paramref name="invocationId"/> comes.</summary>
    private static async Task PollUntilCompletedAsync(HttpClient http, string path, string accessToken, string invocationId)
    {
        var deadline = DateTime.UtcNow + Patience;
        var received = new StringBuilder();
        while (DateTime.UtcNow < deadline)
        {
            using var poll = await SendAsync(http, HttpMethod.Get, path, accessToken);
            Assert.Equal(HttpStatusCode.OK, poll.StatusCode);
            received.Append(await poll.Content.ReadAsStringAsync());
            foreach (var record in received.ToString().Split(RecordSeparator, StringSplitOptions.RemoveEmptyEntries))
            {
                using var message = JsonDocument.Parse(record);
                if (message.RootElement.TryGetProperty("type", out var type) && type.GetInt32() == 3
                    && message.RootElement.GetProperty("invocationId").GetString() == invocationId)
                {
                    Assert.False(message.RootElement.TryGetProperty("error", out var error), error.ToString());
                    return;
                }
            }
        }

        throw new TimeoutException($"no completion of call {invocationId}; got: {received}");
    }

    private static async Task<HttpResponseMessage> SendAsync(HttpClient http, HttpMethod method, string path, string accessToken, string? body = null)
    {
        using var request = new HttpRequestMessage(method, path);
        request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", accessToken);
        if (body is not null)
        {
            request.Content = new StringContent(body, Encoding.UTF8, "text/plain");
        }

        using var timeout = new CancellationTokenSource(Patience);
        return await http.SendAsync(request, timeout.Token);
    }
}
