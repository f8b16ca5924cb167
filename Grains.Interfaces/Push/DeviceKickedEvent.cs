namespace Orleans.Im.Push;

/// <summary>
/// One device of the user must go (the login policy admits a newer one): the edge holding it tells it why and closes
/// its connection. Not a conversation event: it names no conversation and seq 0. <c>ConnectionId</c> names the connection
/// that must go, so that the device's newer connection on the same edge stays; empty from silos built before it (every
/// connection of the device goes).
/// </summary>
[GenerateSerializer, Immutable, Alias("im.DeviceKickedEvent")]
public sealed record DeviceKickedEvent(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string Reason,
    [property: Id(2)] string ConnectionId = "")
    : UserEvent("", 0);
