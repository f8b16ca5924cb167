namespace Orleans.Im.Users;

/// <summary>A user's presence: status, when last seen, and the devices online now.</summary>
[GenerateSerializer, Immutable, Alias("im.UserPresence")]
public sealed record UserPresence(
    [property: Id(0)] string UserId,
    [property: Id(1)] PresenceStatus Status,
    [property: Id(2)] DateTimeOffset? LastSeen,
    [property: Id(3)] IReadOnlyList<DeviceSession> Devices)
{
    /// <summary>What one not allowed to see <paramref name="userId"/>'s presence is told: hidden, nothing more.</summary>
    public static UserPresence Hidden(string userId) => new(userId, PresenceStatus.Hidden, null, []);
}
