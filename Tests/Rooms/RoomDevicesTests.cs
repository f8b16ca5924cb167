using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Rooms;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Push;
using Orleans.Im.Rooms;

namespace Orleans.Im.Tests.Rooms;

/// <summary>
/// A room's devices on one edge host, against every order in which the answer to a join and the room's notice that a
/// membership ended can arrive (the edge tests cannot force these orders).
/// </summary>
[Trait("Category", "Unit")]
public sealed class RoomDevicesTests
{
    private const string Alice = "alice";
    private readonly RoomDevices _room = new();
    private readonly Device _phone = new("phone");
    private readonly Device _laptop = new("laptop");

    [Fact]
    public void A_notice_takes_out_the_devices_of_the_membership_that_ended_and_not_one_that_joined_again_after_it()
    {
        var phone = Joined(_phone, 5);
        var laptop = Joined(_laptop, 5);
        Assert.Equal([phone, laptop], _room.Left(new RoomMembership(Alice, 5)).OrderByDescending(d => d.Target.DeviceId, StringComparer.Ordinal));
        Assert.True(_room.IsEmpty);

        Joined(_laptop, 9);
        Assert.Empty(_room.Left(new RoomMembership(Alice, 5)));
        Assert.Single(_room.Snapshot());
    }

    [Fact]
    public void A_notice_that_comes_before_the_answer_of_an_earlier_join_takes_the_device_out_when_the_answer_comes()
    {
        var laptop = _room.Joining(Alice, _laptop, out var added);
        Assert.True(added);

        // The room took the join (membership 5), then a leave from the phone; the notice of the leave comes first.
        Assert.Empty(_room.Left(new RoomMembership(Alice, 5)));
        Assert.Single(_room.Snapshot());
        Assert.Equal([laptop], _room.Joined(laptop, 5));
        Assert.True(_room.IsEmpty);
    }

    [Fact]
    public void A_notice_that_comes_before_the_answer_of_a_later_join_leaves_the_device_in()
    {
        var laptop = Joined(_laptop, 5);

        // The laptop joins again after the phone's leave (membership 7), and the notice that 5 ended comes first.
        Assert.Same(laptop, _room.Joining(Alice, _laptop, out var added));
        Assert.False(added);
        Assert.Empty(_room.Left(new RoomMembership(Alice, 5)));
        Assert.Empty(_room.Joined(laptop, 7));
        Assert.Equal(7, Assert.Single(_room.Snapshot()).Membership);

        // What it remembered about 5 is gone with the join: a later notice of 7 takes the laptop out.
        Assert.Equal([laptop], _room.Left(new RoomMembership(Alice, 7)));
    }

    [Fact]
    public void A_failed_join_keeps_a_device_whose_membership_stands_and_not_one_whose_membership_ended_meanwhile()
    {
        var laptop = Joined(_laptop, 5);
        _room.Joining(Alice, _laptop, out _);
        Assert.Empty(_room.JoinFailed(laptop));
        Assert.Single(_room.Snapshot());

        _room.Joining(Alice, _laptop, out _);
        Assert.Empty(_room.Left(new RoomMembership(Alice, 5)));
        Assert.Equal([laptop], _room.JoinFailed(laptop));
        Assert.True(_room.IsEmpty);
    }

    [Fact]
    public void A_device_that_never_joined_goes_when_its_join_fails_and_a_device_that_closed_meanwhile_is_not_brought_back()
    {
        var phone = _room.Joining(Alice, _phone, out _);
        Assert.Equal([phone], _room.JoinFailed(phone));
        Assert.True(_room.IsEmpty);

        var laptop = _room.Joining(Alice, _laptop, out _);
        Assert.Same(laptop, _room.Remove(Alice, _laptop));
        Assert.Empty(_room.Joined(laptop, 5));
        Assert.True(_room.IsEmpty);
    }

    [Fact]
    public void An_answer_for_a_device_that_closed_while_joining_leaves_a_new_device_on_the_same_target_alone()
    {
        var first = _room.Joining(Alice, _laptop, out _);
        Assert.Same(first, _room.Remove(Alice, _laptop));
        var second = _room.Joining(Alice, _laptop, out var added);
        Assert.True(added);
        Assert.NotSame(first, second);

        // The first join's answer comes now: it is not the second's, which still waits for its own.
        Assert.Empty(_room.Joined(first, 5));
        Assert.Equal((1, 0L), (second.Joins, second.Membership));
        Assert.Empty(_room.Joined(second, 6));
        Assert.Equal((0, 6L), (second.Joins, second.Membership));
    }

    [Fact]
    public void Held_memberships_are_the_latest_answered_per_user_and_a_renumbering_moves_them_on()
    {
        Joined(_phone, 5);
        Joined(_laptop, 6);
        _room.Joining("bob", new Device("bobs"), out _);
        Assert.Equal([new RoomMembership(Alice, 6)], _room.Held());

        Assert.Empty(_room.Reattached(_room.Held(), new Dictionary<string, long> { [Alice] = 42 }));
        Assert.All(_room.Snapshot().Where(d => d.UserId == Alice), d => Assert.Equal(42, d.Membership));
        Assert.Equal(2, _room.Left(new RoomMembership(Alice, 42)).Length);
    }

    private RoomDevice Joined(Device target, long membership)
    {
        var device = _room.Joining(Alice, target, out _);
        Assert.Empty(_room.Joined(device, membership));
        return device;
    }

    private sealed class Device(string deviceId) : IPushTarget
    {
        public string DeviceId { get; } = deviceId;

        public int QueuedPushes => 0;

        public void Push(UserEventBatch batch) => throw new InvalidOperationException("a room's devices push nothing");

        public void RequestResync() => throw new InvalidOperationException("a room's devices push nothing");

        public void Kick(string reason) => throw new InvalidOperationException("a room's devices push nothing");

        public void Redirect(EdgeRedirect redirect) => throw new InvalidOperationException("a room's devices push nothing");
    }
}
