using Orleans.Im.Hosting;

namespace Orleans.Im.Users;

/// <summary>How user grains keep their conversation index. Bound from <c>IM:Users</c>.</summary>
public sealed class UserOptions
{
    public const string Section = "IM:Users";

    /// <summary>
    /// How often changed index entries from new messages are written (in one batch per user). Read positions, settings
    /// and membership are written at once; a crash before a flush loses nothing, because the index is rebuilt from
    /// the message log on activation.
    /// </summary>
    [TimeSpanRange("00:00:00.010", "00:10:00")]
    public TimeSpan IndexFlushInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>
    /// A user whose last device left is announced offline only after this: a phone switching networks reconnects within
    /// it and nobody sees it flicker.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan PresenceGrace { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How long a connected device stays registered without its edge host renewing it (edges renew every
    /// <c>IM:Edge:DeviceRenewInterval</c>, 5 minutes by default; keep this at least twice that). It keeps an online user's
    /// grain active however quiet the user is, and bounds how long a device of an edge host that died stays "online".
    /// </summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan DeviceLease { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How often each silo asks the edge directory for edge hosts it dropped as lost (silent for three report intervals,
    /// 15 s by default) and drops their devices from its user grains: with the defaults a crashed edge's users are
    /// offline, and their phones notified again, ~20–50 s after the crash (the presence grace included), not when their
    /// leases run out.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan LostEdgeCheckInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>Login policy: mobile devices (iOS, Android) online at once.</summary>
    public int MaxMobileDevices { get; set; } = 1;

    /// <summary>Login policy: desktop devices (Windows, macOS, Linux) online at once.</summary>
    public int MaxDesktopDevices { get; set; } = 1;

    /// <summary>Login policy: web sessions online at once.</summary>
    public int MaxWebDevices { get; set; } = 5;

    /// <summary>Login policy: devices of any other platform online at once.</summary>
    public int MaxOtherDevices { get; set; } = 10;

    /// <summary>
    /// Presence goes to the members of a user's groups up to this size (when the user shares presence); in larger
    /// groups a status change would be noise for many, and members ask with a presence query instead.
    /// </summary>
    public int PresenceGroupPeersMax { get; set; } = 100;
}
