using System.Collections.Concurrent;
using Orleans.Im.Messages;
using Orleans.Im.Rooms;
using Orleans.Im.Streams;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Streams;

namespace Orleans.Im.Tests.Rooms;

/// <summary>
/// Edge hosts renew their rooms: a room drops an edge that stopped renewing (it died without detaching) and ends the
/// memberships no edge reports (a user grain that forgot the room never makes them leave). Edges are played by the test
/// client; the silo's clock is moved past the lease rather than waited for.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class RoomLeaseTests(ClusterFixture fixture)
{
    private static readonly TimeSpan PastTheLease = new RoomOptions().EdgeLease + TimeSpan.FromMinutes(1);

    [Fact]
    public async Task A_dead_edge_is_dropped_and_a_member_no_edge_reports_leaves_as_if_offline_and_may_rejoin()
    {
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var (dead, live) = ($"edge-dead-{Guid.NewGuid():N}", $"edge-live-{Guid.NewGuid():N}");
        var heard = new ConcurrentQueue<RoomDelivery>();
        var subscription = await SubscribeAsync(live, heard);
        try
        {
            // Both edges renew once they attach; the dead one never again (and never detaches). Alice's device is on it;
            // her user grain, lost with its silo, will never say she went offline.
            Assert.Empty(await room.RenewAsync(dead, []));
            var alices = await room.JoinAsync(alice, dead);
            Assert.Empty(await room.RenewAsync(live, []));
            var bobs = await room.JoinAsync(bob, live);
            Assert.Equal(new RoomInfo(room.GetPrimaryKeyString(), 2, 2, 0), await room.GetInfoAsync());

            fixture.Time.Advance(PastTheLease);
            Assert.Equal([new RoomMembership(bob, bobs.Membership)], await room.RenewAsync(live, [new RoomMembership(bob, bobs.Membership)]));

            var info = await room.GetInfoAsync();
            Assert.Equal(1, info.EdgeCount);
            Assert.Equal(1, info.MemberCount);
            Assert.Equal(SendStatus.NoAccess, (await room.SendAsync(Text(alice, "still here?"))).Status);
            Assert.Equal(SendStatus.Sent, (await room.SendAsync(Text(bob, "hello"))).Status);
            var delivered = await Eventually.ReturnsAsync(() => Task.FromResult(heard.ToArray()), h => h.Any(d => d.Messages.Length > 0));
            Assert.Contains(delivered, d => d.Messages.Any(m => m.Content?.Text == "hello"));

            // A lapse is not a leave: a device of hers that comes back rejoins, with a later membership.
            var back = await room.RejoinAsync(alice, live, alices.Membership);
            Assert.Equal(AccessStatus.Ok, back.Status);
            Assert.True(back.Membership > alices.Membership, $"{back.Membership} after {alices.Membership}");
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task An_edge_that_dies_between_its_first_join_and_its_first_renewal_is_dropped_when_the_lease_lapses()
    {
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var (erin, frank) = (Ids.User("erin"), Ids.User("frank"));
        var (dead, live) = ($"edge-dead-{Guid.NewGuid():N}", $"edge-live-{Guid.NewGuid():N}");

        // The dead edge's join is its only word: it dies before the renewal that follows the join's answer.
        Assert.Equal(AccessStatus.Ok, (await room.JoinFromEdgeAsync(erin, dead)).Status);
        var franks = await room.JoinFromEdgeAsync(frank, live);
        fixture.Time.Advance(PastTheLease);
        var held = new RoomMembership(frank, franks.Membership);
        Assert.Equal([held], await room.RenewAsync(live, [held]));

        // Not kept as an edge from before renewals: dropped, and erin, whom no edge reports, lapses.
        var info = await room.GetInfoAsync();
        Assert.Equal((1, 1), (info.MemberCount, info.EdgeCount));
        Assert.Equal(SendStatus.NoAccess, (await room.SendAsync(Text(erin, "anyone?"))).Status);
    }

    [Fact]
    public async Task While_an_edge_from_before_renewals_is_attached_no_member_lapses_and_that_edge_is_never_dropped()
    {
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var carol = Ids.User("carol");
        var (old, live) = ($"edge-old-{Guid.NewGuid():N}", $"edge-live-{Guid.NewGuid():N}");

        // The old edge only joins (and reattaches): it may hold carol's device without ever reporting it.
        Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(carol, old)).Status);
        Assert.Empty(await room.RenewAsync(live, []));
        fixture.Time.Advance(PastTheLease);
        Assert.Empty(await room.RenewAsync(live, []));
        var info = await room.GetInfoAsync();
        Assert.Equal((1, 2), (info.MemberCount, info.EdgeCount));

        // Once it detached, every edge attached renews: a member none of them reports lapses at the next sweep.
        await room.DetachAsync(old);
        fixture.Time.Advance(PastTheLease);
        Assert.Empty(await room.RenewAsync(live, []));
        info = await room.GetInfoAsync();
        Assert.Equal((0, 1), (info.MemberCount, info.EdgeCount));
    }

    [Fact]
    public async Task Leaving_and_joining_again_buys_no_fresh_burst_and_a_rate_full_again_is_let_go()
    {
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var dave = Ids.User("dave");
        var options = new RoomOptions();
        foreach (var end in new Func<Task>[] { () => room.OnMemberOfflineAsync(dave), () => room.EndMembershipAsync(dave) })
        {
            Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(dave, null)).Status);
            var sent = new List<SendStatus>();
            for (var i = 0; i <= options.SendBurst; i++)
            {
                sent.Add((await room.SendAsync(Text(dave, $"#{i}"))).Status);
            }

            // Past the burst: refused (the last, or — on a machine slow enough for a token to come back meanwhile — one near it).
            Assert.Contains(SendStatus.RateLimited, sent);
            await end();
            // OnMemberOffline is one-way.
            Assert.Equal(0, (await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 0)).MemberCount);

            // Back at once: the spent rate is still there (a fresh burst would let every one of these through; a token
            // or two may have come back meanwhile on a slow machine).
            Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(dave, null)).Status);
            var again = new List<SendStatus>();
            for (var i = 0; i < options.SendBurst; i++)
            {
                again.Add((await room.SendAsync(Text(dave, $"again #{i}"))).Status);
            }

            Assert.Contains(SendStatus.RateLimited, again);
            await end();
            Assert.Equal(0, (await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 0)).MemberCount);

            // Once it would be full again it is let go (the room keeps no rate for every sender it ever had), and a
            // member who comes back then has the whole burst.
            fixture.Time.Advance(TimeSpan.FromSeconds(options.SendBurst / options.SendRatePerSecond + 1));
            Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(dave, null)).Status);
            for (var i = 0; i < options.SendBurst; i++)
            {
                Assert.Equal(SendStatus.Sent, (await room.SendAsync(Text(dave, $"later #{i}"))).Status);
            }

            await end();
            Assert.Equal(0, (await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 0)).MemberCount);
        }
    }

    private static SendRequest Text(string senderId, string text) =>
        new(senderId, "test", Ids.ClientMsgId(), MessageContent.FromText(text), MessageClass.Instant);

    private async Task<StreamSubscriptionHandle<RoomDelivery>> SubscribeAsync(string edgeId, ConcurrentQueue<RoomDelivery> heard) =>
        await fixture.Client.GetStreamProvider(StreamNames.Provider)
            .GetStream<RoomDelivery>(StreamId.Create(StreamNames.EdgeNamespace, edgeId))
            .SubscribeAsync((delivery, _) =>
            {
                heard.Enqueue(delivery);
                return Task.CompletedTask;
            });
}
