using Microsoft.Extensions.Options;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Protocol.V1;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// The silo holding a user's grain is killed while the user stays connected to a surviving edge: the grain comes back
/// elsewhere knowing none of the user's devices, and the edge registers them again (and has them sync), so the user
/// gets the next message by push — not only at the SDK's periodic catch-up, which is set far beyond the test here.
/// </summary>
[Collection(FaultGroup.Name)]
[Trait("Category", "Fault")]
public sealed class PushAfterSiloLossTests(ITestOutputHelper output)
{
    /// <summary>Far longer than the test: a message that arrives did so by push or by the resync the edge asked for.</summary>
    private static readonly TimeSpan NoCatchUp = TimeSpan.FromMinutes(30);
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task A_user_whose_grain_was_on_a_killed_silo_still_gets_pushes_without_reconnecting()
    {
        await using var cluster = new SiloCluster("push-after-loss");
        var silos = await Task.WhenAll(cluster.StartSiloAsync(settings: FaultDrill.SiloSettings), cluster.StartSiloAsync(settings: FaultDrill.SiloSettings));
        var edge = await cluster.StartEdgeAsync();
        var orleans = await cluster.ConnectClientAsync();
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = GrainKeys.P2P(alice, bob);
        await using var alicePhone = Client(alice, edge, tokens);
        await using var bobPhone = Client(bob, edge, tokens);
        await alicePhone.ConnectAsync();
        await bobPhone.ConnectAsync();
        Assert.Equal(SendStatus.Sent, (await alicePhone.SendTextAsync(conversation, "before")).Status);
        Assert.Equal("before", Assert.Single(await bobPhone.TakeAsync(1)).Content.Text);

        // Kill the silo that holds bob's user grain (with both up, either may).
        var statistics = await orleans.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var bobsSilo = statistics.Single(s => s.GrainId.Type.ToString() == "user" && s.GrainId.Key.ToString() == bob).SiloAddress;
        var victim = silos.Single(s => s.Endpoints.SiloPort == bobsSilo.Endpoint.Port);
        output.WriteLine($"bob's grain on {bobsSilo}; killing it");
        await victim.Process.KillAsync();

        // Alice's send is held while the silo is declared dead, then goes through; bob, still connected to the same
        // edge, gets it without a reconnect and long before any periodic catch-up.
        var ack = await SendRetryingAsync(alicePhone, conversation, "after the silo was lost");
        Assert.Equal((SendStatus.Sent, 2L), (ack.Status, ack.Seq));
        Assert.Equal("after the silo was lost", Assert.Single(await bobPhone.TakeAsync(1, Patience)).Content.Text);
        Assert.Equal(1, bobPhone.ConnectionCount);

        // And pushes flow again for what follows.
        Assert.Equal(SendStatus.Sent, (await SendRetryingAsync(alicePhone, conversation, "and later")).Status);
        Assert.Equal("and later", Assert.Single(await bobPhone.TakeAsync(1)).Content.Text);
    }

    /// <summary>Sends as the SDK asks an application to: a retryable refusal is sent again, with the same id, later.</summary>
    private static async Task<SendAck> SendRetryingAsync(ImClient client, string conversationId, string text)
    {
        var clientMsgId = Ids.ClientMsgId();
        var deadline = DateTime.UtcNow + Patience;
        while (true)
        {
            try
            {
                return await client.SendTextAsync(conversationId, text, clientMsgId);
            }
            catch (ImClientException ex) when (ex.Error is { Retryable: true } && DateTime.UtcNow < deadline)
            {
                await Task.Delay(TimeSpan.FromMilliseconds(500));
            }
        }
    }

    private static ImClient Client(string userId, RunningEdge edge, AccessTokens tokens) => new(new ImClientOptions
    {
        Port = edge.Endpoints.TcpPort,
        TokenProvider = _ => Task.FromResult(tokens.Issue(userId, "s-" + userId)),
        DeviceId = "phone",
        Platform = "test",
        HeartbeatInterval = TimeSpan.FromSeconds(5),
        // Sends wait out the silo's failure detection rather than time out.
        RequestTimeout = TimeSpan.FromSeconds(60),
        CatchUpInterval = NoCatchUp,
    });
}
