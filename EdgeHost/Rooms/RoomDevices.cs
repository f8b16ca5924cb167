using System.Runtime.InteropServices;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Rooms;

namespace Orleans.Im.EdgeHost.Rooms;

/// <summary>
/// One room's devices on this edge host, and the array deliveries walk (made once per change). Not thread-safe: the
/// fan-out calls it under its lock. Each device holds the membership its joins were answered with, so that the room's
/// notice that a membership ended takes out the devices of that membership and not one that joined again after it,
/// whichever of the notice and the answer to that join comes first. Methods that take devices out answer them; the
/// caller tells those that held a membership.
/// </summary>
public sealed class RoomDevices
{
    // By user: a leave, asked here or noticed from the room, takes out the user's devices without a walk over the room.
    private readonly Dictionary<string, RoomDevice[]> _byUser = new(StringComparer.Ordinal);

    // Memberships that ended while a device of the user was still waiting for the room's answer to a join: when the
    // answer names one of them, the join came before the leave and the device goes too. Kept only while such a join is
    // under way.
    private Dictionary<string, long>? _endedWhileJoining;
    private RoomDevice[]? _snapshot;

    public bool IsEmpty => _byUser.Count == 0;

    /// <summary>A join of the device is under way: answers the device as listed here (a new one unless it was here).</summary>
    public RoomDevice Joining(string userId, IPushTarget target, out bool added)
    {
        ref var ofUser = ref CollectionsMarshal.GetValueRefOrAddDefault(_byUser, userId, out _);
        ofUser ??= [];
        var device = Find(ofUser, target);
        added = device is null;
        if (device is null)
        {
            device = new RoomDevice(userId, target);
            ofUser = [.. ofUser, device];
            _snapshot = null;
        }

        device.Joins++;
        return device;
    }

    /// <summary>
    /// The room answered a join of the device with <paramref name="membership"/> (0 from a room that does not number
    /// memberships: taken as standing). Answers the device when that membership had ended already: it is taken out.
    /// </summary>
    public RoomDevice[] Joined(RoomDevice device, long membership)
    {
        if (!IsHere(device))
        {
            return [];
        }

        device.Joins--;
        device.Membership = Math.Max(device.Membership, membership);
        return EndedWhileJoining(device, membership == 0 ? long.MaxValue : device.Membership);
    }

    /// <summary>
    /// A join of the device was refused or could not be asked. Answers the device when it goes: it never had a membership,
    /// or the one it had ended while it was joining. A device whose earlier membership stands stays.
    /// </summary>
    public RoomDevice[] JoinFailed(RoomDevice device)
    {
        if (!IsHere(device))
        {
            return [];
        }

        device.Joins--;
        if (device.Joins == 0 && device.Membership == 0)
        {
            return Take(device.UserId, [device]);
        }

        return EndedWhileJoining(device, device.Membership);
    }

    /// <summary>Takes the device out (its connection closed); null when it was not here.</summary>
    public RoomDevice? Remove(string userId, IPushTarget target) =>
        _byUser.TryGetValue(userId, out var ofUser) && Find(ofUser, target) is { } device ? Take(userId, [device])[0] : null;

    /// <summary>
    /// A member left: takes out their devices whose membership ended, and remembers it for those still waiting for the
    /// room's answer to a join. A device whose membership is later (it joined again after the leave) stays.
    /// </summary>
    public RoomDevice[] Left(RoomMembership left)
    {
        ArgumentNullException.ThrowIfNull(left);
        if (!_byUser.TryGetValue(left.UserId, out var ofUser))
        {
            return [];
        }

        var joining = false;
        List<RoomDevice>? gone = null;
        foreach (var device in ofUser)
        {
            if (device.Joins > 0)
            {
                joining = true;
            }
            else if (device.Membership <= left.Membership)
            {
                (gone ??= []).Add(device);
            }
        }

        if (joining)
        {
            _endedWhileJoining ??= new(StringComparer.Ordinal);
            _endedWhileJoining[left.UserId] = Math.Max(left.Membership, _endedWhileJoining.GetValueOrDefault(left.UserId));
        }

        return gone is null ? [] : Take(left.UserId, [.. gone]);
    }

    /// <summary>Whether a device of <paramref name="userId"/> here holds a membership (its join was answered).</summary>
    public bool Holds(string userId)
    {
        if (!_byUser.TryGetValue(userId, out var ofUser))
        {
            return false;
        }

        foreach (var device in ofUser)
        {
            if (device.Membership != 0)
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>The latest membership each user's devices here hold (those whose joins were answered).</summary>
    public RoomMembership[] Held()
    {
        var held = new List<RoomMembership>(_byUser.Count);
        foreach (var (userId, ofUser) in _byUser)
        {
            var membership = 0L;
            foreach (var device in ofUser)
            {
                membership = Math.Max(membership, device.Membership);
            }

            if (membership != 0)
            {
                held.Add(new RoomMembership(userId, membership));
            }
        }

        return [.. held];
    }

    /// <summary>
    /// The room answered a reattach of the memberships <paramref name="held"/> here with those that stand now
    /// (<paramref name="current"/>, by user). A user it answered keeps their devices, renumbered when the room numbered
    /// the membership anew (it was activated again), so that a notice that it ended takes them out. The devices of a user
    /// it did not answer go (they left, and this edge did not hear of it): answered here.
    /// </summary>
    public RoomDevice[] Reattached(RoomMembership[] held, IReadOnlyDictionary<string, long> current)
    {
        ArgumentNullException.ThrowIfNull(held);
        ArgumentNullException.ThrowIfNull(current);
        List<RoomDevice>? gone = null;
        foreach (var membership in held)
        {
            if (!current.TryGetValue(membership.UserId, out var now))
            {
                gone ??= [];
                gone.AddRange(Left(membership));
                continue;
            }

            foreach (var device in _byUser.GetValueOrDefault(membership.UserId) ?? [])
            {
                if (device.Membership != 0 && device.Membership <= membership.Membership)
                {
                    device.Membership = Math.Max(device.Membership, now);
                }
            }
        }

        return gone is null ? [] : [.. gone];
    }

    /// <summary>Every device here, as one array made once per change (deliveries walk it).</summary>
    public RoomDevice[] Snapshot() => _snapshot ??= [.. _byUser.Values.SelectMany(d => d)];

    /// <summary>
    /// The join of <paramref name="device"/> is answered (or failed) and its membership is <paramref name="membership"/>:
    /// takes it out when a notice came meanwhile that this membership ended.
    /// </summary>
    private RoomDevice[] EndedWhileJoining(RoomDevice device, long membership)
    {
        var ended = _endedWhileJoining?.GetValueOrDefault(device.UserId) ?? 0;
        if (device.Joins == 0 && membership <= ended)
        {
            return Take(device.UserId, [device]);
        }

        ForgetEndedUnlessJoining(device.UserId);
        return [];
    }

    private RoomDevice[] Take(string userId, RoomDevice[] gone)
    {
        var ofUser = _byUser[userId];
        if (gone.Length == ofUser.Length)
        {
            _byUser.Remove(userId);
        }
        else
        {
            _byUser[userId] = Array.FindAll(ofUser, d => Array.IndexOf(gone, d) < 0);
        }

        ForgetEndedUnlessJoining(userId);
        _snapshot = null;
        return gone;
    }

    /// <summary>An ended membership matters only while a device of the user waits for the room's answer.</summary>
    private void ForgetEndedUnlessJoining(string userId)
    {
        if (_endedWhileJoining is null
            || (_byUser.TryGetValue(userId, out var ofUser) && Array.Exists(ofUser, d => d.Joins > 0)))
        {
            return;
        }

        _endedWhileJoining.Remove(userId);
        if (_endedWhileJoining.Count == 0)
        {
            _endedWhileJoining = null;
        }
    }

    private bool IsHere(RoomDevice device) =>
        _byUser.TryGetValue(device.UserId, out var ofUser) && Array.IndexOf(ofUser, device) >= 0;

    private static RoomDevice? Find(RoomDevice[] devices, IPushTarget target)
    {
        foreach (var device in devices)
        {
            if (device.Target == target)
            {
                return device;
            }
        }

        return null;
    }
}
