using Orleans.Im.Users;

namespace Orleans.Im.Push;

/// <summary>Someone this user may see came online or went offline (after the reconnect grace).</summary>
[GenerateSerializer, Immutable, Alias("im.PresenceEvent")]
public sealed record PresenceEvent(
    [property: Id(0)] string UserId,
    [property: Id(1)] PresenceStatus Status,
    [property: Id(2)] DateTimeOffset? LastSeen)
    : UserEvent("", 0);
