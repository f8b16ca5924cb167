using Microsoft.Extensions.Options;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Protocol.V1;
using Orleans.Im.Rooms;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// The silo holding a chat room is killed or stopped while its members stay connected to a surviving edge: the room
/// comes back elsewhere knowing neither its members nor the edge (it lives in memory), and the edge tells it both, so
/// the members go on chatting without reconnecting or joining again. A member who left before the loss stays out.
/// </summary>
[Collection(FaultGroup.Name)]
[Trait("Category", "Fault")]
public sealed class RoomAfterSiloLossTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(90);
    private static readonly TimeSpan GracefulStopTimeout = TimeSpan.FromSeconds(60);

    [Theory]
    [InlineData(true)]
    [InlineData(false)]
    public async Task A_room_whose_silo_was_lost_keeps_its_members_on_a_surviving_edge_and_not_those_who_left(bool kill)
    {
        await using var cluster = new SiloCluster("room-after-loss");
        var silos = await Task.WhenAll(cluster.StartSiloAsync(settings: FaultDrill.SiloSettings), cluster.StartSiloAsync(settings: FaultDrill.SiloSettings));
        var edge = await cluster.StartEdgeAsync();
        var orleans = await cluster.ConnectClientAsync();
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = orleans.GetGrain<IRoomGrain>(roomId);
        var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
        await using var alicePhone = Client(alice, edge, tokens);
        await using var bobPhone = Client(bob, edge, tokens);
        await using var carolPhone = Client(carol, edge, tokens);
        foreach (var phone in new[] { alicePhone, bobPhone, carolPhone })
        {
            await phone.ConnectAsync();
            await phone.JoinRoomAsync(roomId);
        }

        Assert.Equal(SendStatus.Sent, (await alicePhone.SendTextAsync(roomId, "before")).Status);
        // The sender's SDK shows its own copy, made from the ack.
        Assert.Equal("before", Assert.Single(await alicePhone.TakeAsync(1)).Content.Text);
        Assert.Equal("before", Assert.Single(await bobPhone.TakeAsync(1)).Content.Text);
        Assert.Equal("before", Assert.Single(await carolPhone.TakeAsync(1)).Content.Text);
        // Carol leaves, and her phone stays connected: she must not be taken back.
        await carolPhone.LeaveRoomAsync(roomId);
        Assert.Equal(2, (await room.GetInfoAsync()).MemberCount);

        // Lose the silo that holds the room (with both up, either may).
        var statistics = await orleans.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var roomsSilo = statistics.Single(s => s.GrainId.Type.ToString() == "room" && s.GrainId.Key.ToString() == roomId).SiloAddress;
        var victim = silos.Single(s => s.Endpoints.SiloPort == roomsSilo.Endpoint.Port);
        output.WriteLine($"the room on {roomsSilo}; {(kill ? "killing" : "stopping")} it");
        if (kill)
        {
            await victim.Process.KillAsync();
        }
        else
        {
            Assert.True(await victim.Process.StopAsync(GracefulStopTimeout), "the silo did not stop by itself after SIGTERM");
        }

        // The edge tells the room, activated again elsewhere, its members here: alice and bob, not carol.
        var info = await Eventually.ReturnsAsync(
            async () =>
            {
                try
                {
                    return await room.GetInfoAsync().WaitAsync(TimeSpan.FromSeconds(10));
                }
                catch (Exception ex) when (ex is TimeoutException or OrleansException)
                {
                    return null;
                }
            },
            i => i is { MemberCount: 2, EdgeCount: 1 },
            Patience);
        Assert.Equal((2, 1), (info?.MemberCount, info?.EdgeCount));

        // Bob sends and alice gets it, without either reconnecting or joining again; carol gets nothing.
        Assert.Equal(SendStatus.Sent, (await bobPhone.SendTextAsync(roomId, "after the silo was lost")).Status);
        Assert.Equal("after the silo was lost", Assert.Single(await alicePhone.TakeAsync(1, Patience)).Content.Text);
        Assert.Equal(SendStatus.Refused, (await carolPhone.SendTextAsync(roomId, "let me back")).Status);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(carolPhone.Messages.TryRead(out var onCarol), $"carol got {onCarol}");
        Assert.Equal((1, 1, 1), (alicePhone.ConnectionCount, bobPhone.ConnectionCount, carolPhone.ConnectionCount));
    }

    private static ImClient Client(string userId, RunningEdge edge, AccessTokens tokens) => new(new ImClientOptions
    {
        Port = edge.Endpoints.TcpPort,
        TokenProvider = _ => Task.FromResult(tokens.Issue(userId, "s-" + userId)),
        DeviceId = "phone",
        Platform = "test",
        HeartbeatInterval = TimeSpan.FromSeconds(5),
        // Requests wait out the silo's failure detection rather than time out.
        RequestTimeout = TimeSpan.FromSeconds(60),
    });
}
