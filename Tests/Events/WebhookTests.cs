using System.Collections.Concurrent;
using System.Net;
using System.Net.Http.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Events;
using Orleans.Im.Firehose;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Events;

/// <summary>Webhooks end to end: registered through the admin API, delivered by the silo, signed; failures dead-lettered.</summary>
[Trait("Category", "Integration")]
public sealed class WebhookTests : IAsyncLifetime, IAsyncDisposable
{
    private const int MaxAttempts = 3;

    /// <summary>The Redis database of this test's firehose (the others use 0).</summary>
    private const int FirehoseDatabase = 7;

    private readonly string _apiKey = Guid.NewGuid().ToString("N");
    private readonly ConcurrentQueue<Delivery> _delivered = new();
    private readonly ConcurrentQueue<Delivery> _refused = new();
    private readonly ConcurrentQueue<Delivery> _gone = new();
    private readonly ConcurrentQueue<Delivery> _moved = new();
    private readonly TaskCompletionSource _released = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _heldAttempts;
    // A service id of its own: the registrations of this test are nobody else's.
    private readonly SiloCluster _cluster = new("webhooks", serviceId: "webhooks-" + Guid.NewGuid().ToString("N"));
    private RunningEdge _edge = null!;
    private RunningSilo _silo = null!;
    private WebApplication _receiver = null!;
    private string _receiverUrl = "";
    private int _disposed;

    public async Task InitializeAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        _receiver = builder.Build();
        _receiver.MapPost("/ok", async (HttpRequest request) => { _delivered.Enqueue(await Delivery.ReadAsync(request)); return Results.Ok(); });
        _receiver.MapPost("/fail", async (HttpRequest request) => { _refused.Enqueue(await Delivery.ReadAsync(request)); return Results.StatusCode(500); });
        _receiver.MapPost("/slow", async (HttpRequest request) =>
        {
            var delivery = await Delivery.ReadAsync(request);
            if (delivery.Event?.Data.Contains("hold me", StringComparison.Ordinal) == true)
            {
                Interlocked.Increment(ref _heldAttempts);
                await _released.Task;
            }

            _delivered.Enqueue(delivery);
            return Results.Ok();
        });
        _receiver.MapPost("/gone", async (HttpRequest request) => { _gone.Enqueue(await Delivery.ReadAsync(request)); return Results.StatusCode(410); });
        _receiver.MapPost("/moved", async (HttpRequest request) =>
        {
            _moved.Enqueue(await Delivery.ReadAsync(request));
            return Results.Redirect("/moved-here?token=query-secret", permanent: true, preserveMethod: true);
        });
        await _receiver.StartAsync();
        _receiverUrl = _receiver.Urls.Single();

        _silo = await _cluster.StartSiloAsync(settings: new Dictionary<string, string>
        {
            ["IM__Webhooks__MaxAttempts"] = MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Webhooks__FirstRetryDelay"] = "00:00:00.100",
            ["IM__Webhooks__RefreshInterval"] = "00:00:00.500",
            // The receiver is on loopback, refused by default.
            ["IM__Webhooks__AllowLocalAddresses"] = "true",
            // A Redis database of its own for the firehose: on the shared one, the failing receiver would be handed (and
            // retry) every other test's message events, and this test's own would wait behind them.
            ["IM__Events__Redis"] = $"{TestServices.RedisConnectionString},defaultDatabase={FirehoseDatabase}",
        });
        _edge = await _cluster.StartEdgeAsync(new Dictionary<string, string> { ["IM__Auth__AdminApiKey"] = _apiKey });
    }

    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _cluster.DisposeAsync();
        if (_receiver is not null)
        {
            await _receiver.DisposeAsync();
        }
    }

    [Fact]
    public async Task A_receiver_gets_signed_deliveries_and_a_failing_receiver_ends_in_the_dead_letter_stream()
    {
        var secret = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(24));
        var good = await RegisterAsync(new WebhookBody(_receiverUrl + "/ok", ["message", "recall"], secret, "test receiver"));
        // Credentials in the URL (user info, a token in the query) stay out of logs and of the dead-letter stream.
        var failingUrl = _receiverUrl.Replace("http://", "http://hook:user-secret@", StringComparison.Ordinal) + "/fail?token=query-secret";
        var failing = await RegisterAsync(new WebhookBody(failingUrl, ["message"], null, null));
        // A receiver that refuses the request itself (410: gone) is not asked again: the same request is refused again.
        var gone = await RegisterAsync(new WebhookBody(_receiverUrl + "/gone", ["message"], null, null));
        // Nor one that moved for good (308): the dead letter says where to.
        var moved = await RegisterAsync(new WebhookBody(_receiverUrl + "/moved", ["message"], null, null));
        Assert.Equal(secret, good.Secret);
        Assert.True(failing.Secret.Length >= 32, "a secret is generated when none is given");
        using (var http = Admin())
        {
            var listed = await http.GetFromJsonAsync<WebhookView[]>("/api/admin/webhooks");
            Assert.Equal([good.Id, failing.Id, gone.Id, moved.Id], listed!.Select(w => w.Id));
            Assert.DoesNotContain(listed!, w => w.Secret.Length > 5);
        }

        var client = await _cluster.ConnectClientAsync();
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        var conversation = client.GetGrain<IConversationGrain>(conversationId);
        Assert.Equal(SendStatus.Sent, (await conversation.SendAsync(new SendRequest(alice, null, "w1", MessageContent.FromText("to the webhooks")))).Status);
        Assert.Equal(SendStatus.Sent, (await conversation.SendAsync(new SendRequest(bob, null, "w2", MessageContent.FromText("and again")))).Status);
        Assert.Equal(AccessStatus.Ok, await conversation.RecallAsync(bob, 2));

        var ours = await Eventually.ReturnsAsync(() => Task.FromResult(_delivered.Where(d => d.Event?.ConversationId == conversationId).ToList()),
            d => d.Count >= 3, TimeSpan.FromSeconds(30));
        // Several deliveries at a time (IM__Webhooks__Concurrency): in no set order; receivers order by seq.
        Assert.Equal([$"c:{conversationId}:2:1", $"m:{conversationId}:1", $"m:{conversationId}:2"], ours.Select(d => d.Event!.Id).Order(StringComparer.Ordinal));
        Assert.All(ours, d =>
        {
            Assert.True(WebhookSignature.Verify(secret, d.Timestamp, d.Body, d.Signature, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)), "signature");
            Assert.False(WebhookSignature.Verify(secret + "x", d.Timestamp, d.Body, d.Signature, DateTimeOffset.UtcNow, TimeSpan.FromMinutes(5)));
            Assert.Equal((good.Id, d.Event!.Id, "1"), (d.WebhookId, d.EventId, d.Attempt));
        });
        Assert.Equal("to the webhooks", System.Text.Json.JsonDocument.Parse(ours.Single(d => d.Event!.Id == $"m:{conversationId}:1").Body).RootElement.GetProperty("data").GetProperty("content").GetProperty("text").GetString());

        // An entry that is not one of ours (its data not JSON, written by hand into the stream) is dead-lettered at once,
        // and the events after it are delivered. Before, it failed the delivery run at every read, for good.
        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);
        var poisonId = "poison:" + Guid.NewGuid().ToString("N");
        await redis.GetDatabase(FirehoseDatabase).StreamAddAsync(FirehoseStreams.For(EventClass.Message),
            [new("id", poisonId), new("class", "message"), new("type", "message.sent"), new("time", "2026-01-01T00:00:00.000Z"), new("data", "not json")]);
        Assert.Equal(SendStatus.Sent, (await conversation.SendAsync(new SendRequest(alice, null, "w3", MessageContent.FromText("after the poison")))).Status);
        await Eventually.UntilAsync(() => Task.FromResult(_delivered.Count(d => d.Event?.Id == $"m:{conversationId}:3")), n => n == 1, TimeSpan.FromSeconds(30));
        var poisoned = await Eventually.ReturnsAsync(async () => (await redis.GetDatabase(FirehoseDatabase).StreamRangeAsync(FirehoseStreams.DeadLetter, "-", "+", 5_000, Order.Descending))
            .Where(entry => entry["webhook"] == good.Id && entry["id"] == poisonId).ToList(), d => d.Count == 1, TimeSpan.FromSeconds(30));
        Assert.StartsWith("the event cannot be written as JSON", (string?)poisoned[0]["error"], StringComparison.Ordinal);

        // The failing receiver was tried MaxAttempts times per event; then each event went to the dead-letter stream.
        var dead = await Eventually.ReturnsAsync(async () => (await redis.GetDatabase(FirehoseDatabase).StreamRangeAsync(FirehoseStreams.DeadLetter, "-", "+", 5_000, Order.Descending))
            .Where(entry => entry["webhook"] == failing.Id && ((string?)entry["id"])?.StartsWith($"m:{conversationId}:", StringComparison.Ordinal) == true).ToList(),
            d => d.Count >= 3, TimeSpan.FromSeconds(30));
        Assert.Equal([$"m:{conversationId}:1", $"m:{conversationId}:2", $"m:{conversationId}:3"], dead.Select(entry => (string?)entry["id"]).Order(StringComparer.Ordinal));
        Assert.All(dead, entry => Assert.Equal(("HTTP 500", MaxAttempts.ToString(System.Globalization.CultureInfo.InvariantCulture), _receiverUrl + "/fail"),
            ((string?)entry["error"], (string?)entry["attempts"], (string?)entry["url"])));
        Assert.Contains($"Webhook {failing.Id}: delivering to {_receiverUrl}/fail", _silo.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("user-secret", _silo.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("query-secret", _silo.Process.Output, StringComparison.Ordinal);
        Assert.Equal(3 * MaxAttempts, _refused.Count(d => d.Event?.ConversationId == conversationId));
        Assert.Equal(Enumerable.Range(1, MaxAttempts).Select(i => i.ToString(System.Globalization.CultureInfo.InvariantCulture)),
            _refused.Where(d => d.EventId == $"m:{conversationId}:1").Select(d => d.Attempt));
        var goneDead = await Eventually.ReturnsAsync(async () => (await redis.GetDatabase(FirehoseDatabase).StreamRangeAsync(FirehoseStreams.DeadLetter, "-", "+", 5_000, Order.Descending))
            .Where(entry => entry["webhook"] == gone.Id && ((string?)entry["id"])?.StartsWith($"m:{conversationId}:", StringComparison.Ordinal) == true).ToList(),
            d => d.Count >= 3, TimeSpan.FromSeconds(30));
        Assert.All(goneDead, entry => Assert.Equal(("HTTP 410", "1"), ((string?)entry["error"], (string?)entry["attempts"])));
        Assert.Equal(3, _gone.Count(d => d.Event?.ConversationId == conversationId));
        var movedDead = await Eventually.ReturnsAsync(async () => (await redis.GetDatabase(FirehoseDatabase).StreamRangeAsync(FirehoseStreams.DeadLetter, "-", "+", 5_000, Order.Descending))
            .Where(entry => entry["webhook"] == moved.Id && ((string?)entry["id"])?.StartsWith($"m:{conversationId}:", StringComparison.Ordinal) == true).ToList(),
            d => d.Count >= 3, TimeSpan.FromSeconds(30));
        Assert.All(movedDead, entry => Assert.Equal(($"HTTP 308: moved permanently to {_receiverUrl}/moved-here; register the webhook with that address", "1"),
            ((string?)entry["error"], (string?)entry["attempts"])));
        Assert.Equal(3, _moved.Count(d => d.Event?.ConversationId == conversationId));

        // Removed: no more deliveries.
        using (var http = Admin())
        {
            Assert.Equal(HttpStatusCode.NoContent, (await http.DeleteAsync($"/api/admin/webhooks/{good.Id}")).StatusCode);
            Assert.Equal(HttpStatusCode.NotFound, (await http.DeleteAsync($"/api/admin/webhooks/{good.Id}")).StatusCode);
        }
    }

    [Fact]
    public async Task A_slow_delivery_holds_up_no_other_and_shows_in_the_webhooks_lag()
    {
        var slow = await RegisterAsync(new WebhookBody(_receiverUrl + "/slow", ["message"], null, "slow receiver"));
        var client = await _cluster.ConnectClientAsync();
        var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
        var held = client.GetGrain<IConversationGrain>(GrainKeys.P2P(alice, bob));
        var other = client.GetGrain<IConversationGrain>(GrainKeys.P2P(alice, carol));
        Assert.Equal(SendStatus.Sent, (await held.SendAsync(new SendRequest(alice, null, "s1", MessageContent.FromText("hold me")))).Status);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.Equal(SendStatus.Sent, (await other.SendAsync(new SendRequest(alice, null, "s2", MessageContent.FromText("pass")))).Status);

        // The receiver holds the first; the second goes meanwhile (before, one delivery at a time per silo: it waited).
        // Only this test's conversations: a webhook starts a few seconds before it was made (clock skew), so the events of
        // the test before, on the same firehose, may be delivered to it too.
        var ours = new[] { GrainKeys.P2P(alice, bob), GrainKeys.P2P(alice, carol) };
        bool Ours(Delivery d) => d.WebhookId == slow.Id && ours.Contains(d.Event?.ConversationId);
        await Eventually.UntilAsync(() => Task.FromResult(_delivered.Count(Ours)), n => n == 1, TimeSpan.FromSeconds(30));
        Assert.Equal($"m:{GrainKeys.P2P(alice, carol)}:1", Assert.Single(_delivered, Ours).Event!.Id);
        Assert.Equal(1, Volatile.Read(ref _heldAttempts));

        // The one in hand is not delivered yet: the webhook's lag says so, on the silo's metrics.
        var lag = $"im_webhook_lag{{webhook=\"{slow.Id}\"}}";
        await Eventually.UntilAsync(() => PrometheusScrape.ReadAsync(_silo.Endpoints.HttpPort), scrape => scrape.Value(lag) >= 1, TimeSpan.FromSeconds(30));

        _released.TrySetResult();
        await Eventually.UntilAsync(() => Task.FromResult(_delivered.Count(Ours)), n => n == 2, TimeSpan.FromSeconds(30));
        var after = await Eventually.ReturnsAsync(() => PrometheusScrape.ReadAsync(_silo.Endpoints.HttpPort),
            scrape => scrape.Samples.ContainsKey(lag) && scrape.Value(lag) == 0, TimeSpan.FromSeconds(30));
        Assert.Equal("gauge", after.Types["im_webhook_lag"]);
    }

    [Fact]
    public async Task A_registration_without_a_usable_url_or_class_is_refused()
    {
        using var http = Admin();
        foreach (var body in new[]
        {
            new WebhookBody("ftp://example.invalid/x", ["message"], null, null),
            new WebhookBody("not a url", ["message"], null, null),
            new WebhookBody(_receiverUrl + "/ok", [], null, null),
            new WebhookBody(_receiverUrl + "/ok", ["no-such-class"], null, null),
            new WebhookBody(_receiverUrl + "/ok", ["message"], "short", null),
        })
        {
            using var response = await http.PostAsJsonAsync("/api/admin/webhooks", body);
            Assert.Equal(HttpStatusCode.BadRequest, response.StatusCode);
        }

        using var anonymous = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_edge.Endpoints.HttpPort}") };
        Assert.Equal(HttpStatusCode.Unauthorized, (await anonymous.GetAsync("/api/admin/webhooks")).StatusCode);
    }

    private HttpClient Admin()
    {
        var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{_edge.Endpoints.HttpPort}") };
        http.DefaultRequestHeaders.Add("X-Api-Key", _apiKey);
        return http;
    }

    private async Task<WebhookView> RegisterAsync(WebhookBody body)
    {
        using var http = Admin();
        using var response = await http.PostAsJsonAsync("/api/admin/webhooks", body);
        Assert.Equal(HttpStatusCode.Created, response.StatusCode);
        return (await response.Content.ReadFromJsonAsync<WebhookView>())!;
    }

    private sealed record Delivery(byte[] Body, FirehoseEvent? Event, string? Signature, string? Timestamp, string? EventId, string? WebhookId, string? Attempt)
    {
        public static async Task<Delivery> ReadAsync(HttpRequest request)
        {
            using var buffer = new MemoryStream();
            await request.Body.CopyToAsync(buffer);
            var body = buffer.ToArray();
            string? Header(string name) => request.Headers[name].FirstOrDefault();
            return new Delivery(body, FirehoseJson.Deserialize(body), Header(WebhookSignature.SignatureHeader), Header(WebhookSignature.TimestampHeader),
                Header(WebhookSignature.EventIdHeader), Header(WebhookSignature.WebhookIdHeader), Header(WebhookSignature.AttemptHeader));
        }
    }
}
