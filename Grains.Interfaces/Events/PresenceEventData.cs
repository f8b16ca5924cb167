using Orleans.Im.Users;

namespace Orleans.Im.Events;

/// <summary>The body of <c>presence.changed</c>: the announced status (after the grace for offline).</summary>
public sealed record PresenceEventData(PresenceStatus Status, DateTimeOffset? LastSeen, int Devices);
