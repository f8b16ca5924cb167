using System.Collections.Concurrent;
using Orleans.Im.Messages;
using Orleans.Im.Rooms;
using Orleans.Im.Streams;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Streams;

namespace Orleans.Im.Tests.Rooms;

/// <summary>
/// A room's memberships as the edge hosts see them: each has a number, and a leave tells every edge host the room sends
/// to which one ended, so that the user's devices stop getting the room wherever they are connected.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class RoomMembershipTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_leave_tells_every_edge_which_membership_ended_and_a_join_after_it_has_a_later_one()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = fixture.Client.GetGrain<IRoomGrain>(roomId);
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var (edgeA, edgeB) = ($"edge-a-{Guid.NewGuid():N}", $"edge-b-{Guid.NewGuid():N}");
        var heardA = new ConcurrentQueue<RoomDelivery>();
        var heardB = new ConcurrentQueue<RoomDelivery>();
        var subscriptions = new[] { await SubscribeAsync(edgeA, heardA), await SubscribeAsync(edgeB, heardB) };
        try
        {
            // Alice on a phone at edge A and a laptop at edge B: one membership, whichever device joins.
            var phone = await room.JoinAsync(alice, edgeA);
            var laptop = await room.JoinAsync(alice, edgeB);
            var bobs = await room.JoinAsync(bob, edgeB);
            Assert.All(new[] { phone, laptop, bobs }, j => Assert.Equal(AccessStatus.Ok, j.Status));
            Assert.Equal(phone.Membership, laptop.Membership);
            Assert.NotEqual(phone.Membership, bobs.Membership);

            // She leaves through edge A: both edges hear that her membership ended, edge B before anything sent after.
            Assert.Equal(new RoomLeaveResult(AccessStatus.Ok, new RoomMembership(alice, phone.Membership)), await room.EndMembershipAsync(alice));
            // Leaving again: not a member, and every membership up to now (the last one numbered is bob's) ends all the
            // same, for devices an edge may still list.
            Assert.Equal(AccessStatus.NotFound, await room.LeaveAsync(alice));
            Assert.Equal(SendStatus.Sent, (await room.SendAsync(Text(bob, "after she left"))).Status);
            foreach (var heard in new[] { heardA, heardB })
            {
                var all = await Eventually.ReturnsAsync(
                    () => Task.FromResult(heard.ToArray()), h => h.Any(d => d.Messages.Length > 0));
                var left = all.SelectMany(d => d.Left ?? []).ToArray();
                Assert.Equal([new RoomMembership(alice, phone.Membership), new RoomMembership(alice, bobs.Membership)], left);
                var leftAt = Array.FindIndex(all, d => d.Left is { Length: > 0 });
                var sentAt = Array.FindIndex(all, d => d.Messages.Length > 0);
                Assert.True(leftAt <= sentAt, "the leave reached the edge after a message sent after it");
            }

            // Joining again is a new membership: a late notice of the old one must not take the new one away.
            var again = await room.JoinAsync(alice, edgeB);
            Assert.True(again.Membership > Math.Max(phone.Membership, bobs.Membership), $"{again.Membership} after {phone.Membership}");

            // Going offline ends a membership without a notice: no device of the user is connected anywhere.
            await room.OnMemberOfflineAsync(bob);
            Assert.Equal(1, (await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 1)).MemberCount);
            Assert.Equal(SendStatus.Sent, (await room.SendAsync(Text(alice, "bob went offline"))).Status);
            Assert.Equal(2, await Eventually.ReturnsAsync(() => Task.FromResult(heardB.Sum(d => d.Messages.Length)), n => n >= 2));
            Assert.DoesNotContain(heardB.SelectMany(d => d.Left ?? []), l => l.UserId == bob);
        }
        finally
        {
            foreach (var subscription in subscriptions)
            {
                await subscription.UnsubscribeAsync();
            }
        }
    }

    [Fact]
    public async Task A_device_rejoining_after_a_reconnect_does_not_bring_back_a_user_who_left_but_does_one_whose_membership_lapsed()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = fixture.Client.GetGrain<IRoomGrain>(roomId);
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));

        // Alice left from her phone while her laptop was away: the laptop's rejoin of that membership is refused.
        var alices = await room.JoinAsync(alice, null);
        Assert.Equal(AccessStatus.Ok, await room.LeaveAsync(alice));
        Assert.Equal(AccessStatus.NoAccess, (await room.RejoinAsync(alice, "edge", alices.Membership)).Status);
        Assert.Equal(0, (await room.GetInfoAsync()).MemberCount);

        // Bob went offline past the grace: his membership lapsed, and a device that reconnects takes him back.
        var bobs = await room.JoinAsync(bob, null);
        await room.OnMemberOfflineAsync(bob);
        Assert.Equal(0, (await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 0)).MemberCount);
        var bobBack = await room.RejoinAsync(bob, "edge", bobs.Membership);
        Assert.Equal((AccessStatus.Ok, 1), (bobBack.Status, bobBack.MemberCount));

        // Alice asks to join again herself: she is back, and a rejoin of her old membership is now simply her current one.
        var aliceAgain = await room.JoinAsync(alice, null);
        Assert.Equal(AccessStatus.Ok, aliceAgain.Status);
        Assert.Equal(aliceAgain.Membership, (await room.RejoinAsync(alice, "edge", alices.Membership)).Membership);
    }

    [Fact]
    public async Task A_room_activated_again_numbers_its_memberships_after_those_of_the_activation_before()
    {
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var alice = Ids.User("alice");
        var before = await room.JoinAsync(alice, null);
        Assert.Equal(AccessStatus.Ok, await room.LeaveAsync(alice));

        // An empty room goes away (its members live only in memory); an edge host may still hold a device's old number.
        // (Numbers start from the activation's time: a millisecond on, whatever the machine's speed.)
        await fixture.Cluster.DeactivateAsync(room);
        fixture.Time.Advance(TimeSpan.FromMilliseconds(1));
        var after = await room.JoinAsync(alice, null);

        Assert.Equal(AccessStatus.Ok, after.Status);
        Assert.Equal(1, after.MemberCount);
        Assert.True(after.Membership > before.Membership, $"{after.Membership} after {before.Membership}");
    }

    [Fact]
    public async Task An_edge_reattaching_gets_back_members_the_room_lost_with_an_activation_but_not_those_who_left_since()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = fixture.Client.GetGrain<IRoomGrain>(roomId);
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var edge = $"edge-{Guid.NewGuid():N}";

        // Alice's membership ended in this activation: she left, and an edge that did not hear of it does not bring her back.
        var alices = await room.JoinAsync(alice, edge);
        Assert.Equal(AccessStatus.Ok, await room.LeaveAsync(alice));
        Assert.Empty(await room.ReattachAsync(edge, [new RoomMembership(alice, alices.Membership)]));
        Assert.Equal(0, (await room.GetInfoAsync()).MemberCount);

        // Bob's was lost with the activation (the room went away, as with its silo): the edge brings him back, renumbered.
        var bobs = await room.JoinAsync(bob, edge);
        await room.DetachAsync(edge);
        await fixture.Cluster.DeactivateAsync(room);
        fixture.Time.Advance(TimeSpan.FromMilliseconds(1));
        Assert.Equal(new RoomInfo(roomId, 0, 0, 0), await room.GetInfoAsync());
        var back = Assert.Single(await room.ReattachAsync(edge, [new RoomMembership(bob, bobs.Membership)]));
        Assert.Equal(bob, back.UserId);
        Assert.True(back.Membership > bobs.Membership, $"{back.Membership} after {bobs.Membership}");
        Assert.Equal((1, 1), ((await room.GetInfoAsync()).MemberCount, (await room.GetInfoAsync()).EdgeCount));

        // Asking again changes nothing: he is a member of this activation now.
        Assert.Equal([back], await room.ReattachAsync(edge, [new RoomMembership(bob, bobs.Membership)]));

        // A membership above any this activation numbered came from a silo whose clock was ahead: taken back as well, and
        // numbered after it, so that the devices' numbers keep growing.
        var carol = Ids.User("carol");
        var ahead = back.Membership + 1_000_000_000;
        var carolBack = Assert.Single(await room.ReattachAsync(edge, [new RoomMembership(carol, ahead)]));
        Assert.True(carolBack.Membership > ahead, $"{carolBack.Membership} after {ahead}");
    }

    [Fact]
    public async Task Leaving_again_when_not_a_member_is_answered_but_tells_the_edges_once_and_does_not_flush_other_leaves()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = fixture.Client.GetGrain<IRoomGrain>(roomId);
        var (alice, mallory) = (Ids.User("alice"), Ids.User("mallory"));
        var edge = $"edge-{Guid.NewGuid():N}";
        var heard = new ConcurrentQueue<RoomDelivery>();
        var subscription = await SubscribeAsync(edge, heard);
        try
        {
            var alices = await room.JoinAsync(alice, edge);
            Assert.Equal(AccessStatus.Ok, await room.LeaveAsync(alice));
            for (var i = 0; i < 50; i++)
            {
                Assert.Equal(AccessStatus.NotFound, (await room.EndMembershipAsync(mallory)).Status);
            }

            Assert.Equal(AccessStatus.NoAccess, (await room.RejoinAsync(alice, edge, alices.Membership)).Status);
            Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(alice, edge)).Status);
            Assert.Equal(SendStatus.Sent, (await room.SendAsync(Text(alice, "after the leaves"))).Status);
            var all = await Eventually.ReturnsAsync(() => Task.FromResult(heard.ToArray()), h => h.Any(d => d.Messages.Length > 0));
            Assert.Equal(
                [alice, mallory],
                all.SelectMany(d => d.Left ?? []).Select(l => l.UserId));
        }
        finally
        {
            await subscription.UnsubscribeAsync();
        }
    }

    [Fact]
    public async Task A_reattach_does_not_bring_back_a_user_who_left_after_the_room_was_lost_or_a_membership_that_ended()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = fixture.Client.GetGrain<IRoomGrain>(roomId);
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var (edgeA, edgeB) = ($"edge-a-{Guid.NewGuid():N}", $"edge-b-{Guid.NewGuid():N}");
        var alices = await room.JoinAsync(alice, edgeA);
        var bobs = await room.JoinAsync(bob, edgeA);
        await room.JoinAsync(bob, edgeB);

        // The room is lost. Edge B tells it first and brings bob back; bob then leaves through edge B, before edge A,
        // which also holds him, has told the room anything: edge A does not bring him back.
        await fixture.Cluster.DeactivateAsync(room);
        fixture.Time.Advance(TimeSpan.FromMilliseconds(1));
        var bobBack = Assert.Single(await room.ReattachAsync(edgeB, [new RoomMembership(bob, bobs.Membership)]));
        Assert.Equal(AccessStatus.Ok, await room.LeaveAsync(bob));

        // Alice leaves through edge A before it told the room anything: not a member of this activation, and yet her
        // older membership ends, so that edge A's own reattach does not bring her back either.
        var aliceLeft = await room.EndMembershipAsync(alice);
        Assert.Equal(AccessStatus.NotFound, aliceLeft.Status);
        Assert.True(aliceLeft.Ended.Membership >= bobBack.Membership, $"{aliceLeft.Ended.Membership} before {bobBack.Membership}");
        Assert.Empty(await room.ReattachAsync(edgeA, [new RoomMembership(alice, alices.Membership), new RoomMembership(bob, bobs.Membership)]));
        Assert.Equal((0, 2), ((await room.GetInfoAsync()).MemberCount, (await room.GetInfoAsync()).EdgeCount));

        // In one activation: a membership that ended (here by going offline) is not renumbered into the one the user
        // holds after joining again.
        var bobAgain = await room.JoinAsync(bob, edgeB);
        await room.OnMemberOfflineAsync(bob);
        Assert.Equal(0, (await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 0)).MemberCount);
        var bobThird = await room.JoinAsync(bob, edgeB);
        Assert.Empty(await room.ReattachAsync(edgeA, [new RoomMembership(bob, bobAgain.Membership)]));
        Assert.Equal([new RoomMembership(bob, bobThird.Membership)], await room.ReattachAsync(edgeB, [new RoomMembership(bob, bobThird.Membership)]));
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
