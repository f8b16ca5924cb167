using Orleans.Im.Hosting;

namespace Orleans.Im.Rooms;

/// <summary>Chat rooms. Bound from <c>IM:Rooms</c> (environment: <c>IM__Rooms__…</c>).</summary>
public sealed class RoomOptions
{
    public const string Section = "IM:Rooms";

    /// <summary>Messages held in memory for members who join late.</summary>
    public int RecentMessages { get; set; } = 50;

    /// <summary>The most members a room may have.</summary>
    public int MaxMembers { get; set; } = 100_000;

    /// <summary>Sends per member per second in a room (and the burst allowed).</summary>
    public double SendRatePerSecond { get; set; } = 5;

    public int SendBurst { get; set; } = 10;

    /// <summary>
    /// Sends per second in one room, all members together (and the burst allowed): what a room costs is its messages
    /// times its connected devices, and per-member limits alone let a room of thousands send thousands a second, more
    /// than edges can write (devices then fall behind, are closed as slow, and all reconnect at once). Past it a send is
    /// refused as rate limited. Raise it for rooms with few devices online, or machines to match.
    /// </summary>
    public double RoomSendRatePerSecond { get; set; } = 100;

    public int RoomSendBurst { get; set; } = 200;

    /// <summary>
    /// Leaves remembered per room, so that a device that was away when its user left does not bring them back by joining
    /// again after its reconnect (the oldest are forgotten first).
    /// </summary>
    public int RememberedLeaves { get; set; } = 10_000;

    /// <summary>
    /// How long a room that emptied stays active to remember its leaves (then it is collected, and forgets them): about
    /// how long a device may be away and still be refused when it asks to rejoin a membership its user left.
    /// </summary>
    [TimeSpanRange("00:00:00", "7.00:00:00")]
    public TimeSpan EmptyRoomRemembersLeavesFor { get; set; } = TimeSpan.FromHours(1);

    /// <summary>
    /// Edge hosts renew their rooms (every <c>IM:Edge:DeviceRenewInterval</c>, 5 minutes), telling each which members
    /// hold a device there. An edge host that renews and has not for this long is dropped (it died without detaching):
    /// the room stops sending to it. A member that no edge host reported for this long leaves as if offline (their user
    /// grain, activated again after a silo was lost, may not know the room to say so), unless an edge host from before
    /// renewals is attached, which may hold their devices without saying.
    /// </summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan EdgeLease { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>Client message ids remembered per room, so a retried send is not shown twice.</summary>
    public int DedupWindowSize { get; set; } = 2_000;
}
