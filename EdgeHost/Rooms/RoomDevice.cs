using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.EdgeHost.Rooms;

/// <summary>A device here in a chat room. Its numbers change only under the lock of the <see cref="RoomDevices"/> it is in.</summary>
public sealed class RoomDevice(string userId, IPushTarget target)
{
    public string UserId { get; } = userId;

    public IPushTarget Target { get; } = target;

    /// <summary>The latest membership the room answered this device's joins with; 0 until the first answer.</summary>
    public long Membership { get; internal set; }

    /// <summary>Joins of this device still waiting for the room's answer.</summary>
    public int Joins { get; internal set; }
}
