using System.Diagnostics.Metrics;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging.Abstractions;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Silo.OfflinePush;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.OfflinePush;

/// <summary>
/// The silo's gateway client on its own (the cluster answers its login checks; the fixture's loopback gateway takes
/// what it sends): what it holds when its silo stops.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class PushGatewayClientTests(ClusterFixture fixture)
{
    /// <param name="runFor">How long the client runs before the notifications come: at once, its pump may not have had
    /// its first turn when it is stopped (the stop drains then); later, the pump is waiting out its linger (it drains).</param>
    [Theory]
    [InlineData(0)]
    [InlineData(300)]
    public async Task A_stopping_client_hands_over_what_it_holds_but_not_what_an_ended_login_registered(int runFor)
    {
        var (bob, login) = await SignedInAsync();

        using var services = new ServiceCollection().AddHttpClient().AddMetrics().BuildServiceProvider();
        // Linger longer than the test takes to stop it: everything is still queued then.
        var client = NewClient(services, o => o.Linger = TimeSpan.FromSeconds(1));
        await client.StartAsync(CancellationToken.None);
        await Task.Delay(runFor);
        for (var seq = 1; seq <= 3; seq++)
        {
            client.Enqueue(Notification(bob, "phone", login.SessionId, seq));
        }

        client.Enqueue(Notification(bob, "old-phone", "a-login-that-ended", 4));
        await client.StopAsync(CancellationToken.None);

        Assert.Equal([("phone", 1L), ("phone", 2L), ("phone", 3L)],
            fixture.PushGateway.For(bob).Select(n => (n.GetProperty("deviceId").GetString(), n.GetProperty("seq").GetInt64())));
        client.Dispose();
    }

    [Fact]
    public async Task Held_notifications_are_bounded_by_memory_and_the_newest_beyond_it_are_dropped()
    {
        var (bob, login) = await SignedInAsync();

        using var services = new ServiceCollection().AddHttpClient().AddMetrics().BuildServiceProvider();
        const long Bound = 1 << 20;
        var client = NewClient(services, o => o.QueueBytes = Bound);

        // A gateway out of reach (the client not started): call offers with 8 KiB signals pile up, ~17 KB each.
        var signal = new string('s', 8 * 1024);
        for (var seq = 1; seq <= 200; seq++)
        {
            client.Enqueue(Notification(bob, "phone", login.SessionId, seq) with { Call = signal, CallClientMsgId = $"call-{seq}" });
        }

        Assert.InRange(client.QueuedBytes, Bound / 2, Bound);

        // Back: what was held goes out, the oldest first; the rest were dropped when they came.
        await client.StartAsync(CancellationToken.None);
        await client.StopAsync(CancellationToken.None);
        var sent = fixture.PushGateway.For(bob).Select(n => n.GetProperty("id").GetString()).ToList();
        Assert.InRange(sent.Count, 20, 100);
        Assert.Equal(Enumerable.Range(1, sent.Count).Select(seq => $"call:p2p:{bob}:zed:zed:call-{seq}"), sent);
        Assert.Equal(0, client.QueuedBytes);
        client.Dispose();
    }

    [Fact]
    public async Task A_notification_that_waited_past_its_age_is_dropped_and_not_sent_late()
    {
        var (bob, login) = await SignedInAsync();
        using var services = new ServiceCollection().AddHttpClient().AddMetrics().BuildServiceProvider();
        var client = NewClient(services, o =>
        {
            o.MaxAge = TimeSpan.FromMinutes(2);
            o.CallMaxAge = TimeSpan.FromSeconds(45);
        });

        // Queued while the gateway was out of reach (the client not started): a message from three minutes ago (read on
        // another device since, maybe), a call offer from a minute ago (the caller has hung up), and one of each from now.
        var now = fixture.Time.GetUtcNow();
        client.Enqueue(Notification(bob, "phone", login.SessionId, 1) with { ServerTime = now - TimeSpan.FromMinutes(3) });
        client.Enqueue(Notification(bob, "phone", login.SessionId, 0) with { ServerTime = now - TimeSpan.FromMinutes(1), Call = "{}", CallClientMsgId = "late-call" });
        client.Enqueue(Notification(bob, "phone", login.SessionId, 0) with { Call = "{}", CallClientMsgId = "new-call" });
        client.Enqueue(Notification(bob, "phone", login.SessionId, 2));
        await client.StartAsync(CancellationToken.None);
        await client.StopAsync(CancellationToken.None);

        Assert.Equal([$"call:p2p:{bob}:zed:zed:new-call", $"m:p2p:{bob}:zed:2"], fixture.PushGateway.For(bob).Select(n => n.GetProperty("id").GetString()));
        client.Dispose();
    }

    /// <summary>A new user signed in on a phone: the login its notifications are bound to.</summary>
    private Task<(string UserId, LoginSession Login)> SignedInAsync() => SignedInAsync(fixture);

    /// <summary>A new user, bob, signed in on a phone in <paramref name="cluster"/>: the login its notifications are bound to.</summary>
    internal static async Task<(string UserId, LoginSession Login)> SignedInAsync(ClusterFixture cluster)
    {
        var bob = Ids.User("bob");
        var account = cluster.Client.GetGrain<IAccountGrain>(bob);
        Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount("Bob", null, [AccountRole.User])));
        var now = cluster.Time.GetUtcNow();
        var login = new LoginSession(Guid.NewGuid().ToString("N"), "phone", "ios", "refresh", now.AddDays(30), now);
        Assert.True(await account.StartSessionAsync(login));
        return (bob, login);
    }

    /// <summary>A gateway client of the fixture's gateway and cluster, not started.</summary>
    private PushGatewayClient NewClient(ServiceProvider services, Action<PushGatewayOptions> configure)
    {
        var options = new PushGatewayOptions { GatewayUrl = fixture.PushGateway.Url, Secret = PushGatewayRecorder.Secret };
        configure(options);
        return new PushGatewayClient(Options.Create(options), services.GetRequiredService<IHttpClientFactory>(), fixture.Client,
            new ImClock(fixture.Time), services.GetRequiredService<IMeterFactory>(), NullLogger<PushGatewayClient>.Instance);
    }

    /// <summary>A notification of a message stored now, by the silo's clock (which tests may have moved on).</summary>
    private OfflineNotification Notification(string userId, string deviceId, string sessionId, long seq) =>
        new(userId, deviceId, "apns", $"token-{deviceId}", sessionId, $"p2p:{userId}:zed", Orleans.Im.Conversations.ConversationKind.P2P, seq, "zed",
            ContentType.Text, "hi", seq, false, null, fixture.Time.GetUtcNow());
}
