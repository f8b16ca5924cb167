namespace Orleans.Im.Users;

/// <summary>A connected device of a user, and the edge host that holds its connection.</summary>
/// <param name="DeviceId">The device.</param>
/// <param name="Platform">Its platform (ios, android, web, …).</param>
/// <param name="EdgeId">The edge host holding its connection (the device's location).</param>
/// <param name="ConnectedAt">When this connection logged in.</param>
/// <param name="ConnectionId">
/// This connection of the device: a device that reconnects (a network switch) may log in again before its old
/// connection is seen to close, and the old one's disconnect must not remove the new one.
/// </param>
/// <param name="ClientVersion">The app's version, as the device says at login.</param>
/// <param name="NetworkType">How the device is connected (wifi, cellular, …), as it says at login or later.</param>
/// <param name="Away">The device says its user is away (app in the background, screen locked, idle).</param>
/// <param name="EdgeTakesPushMany">
/// The edge holding the connection takes several batches per call on its push observer
/// (<see cref="Push.IEdgePushObserver.PushManyAsync"/>). False from an edge built before that method, so that silos
/// upgraded first keep calling it one batch at a time.
/// </param>
/// <param name="EdgeRenewsLease">
/// The edge holding the connection (or the robot process) renews it (<see cref="IUserGrain.RenewDeviceAsync"/>), so the
/// grain may drop it when its lease runs out. False from edge hosts and robots built before leases: silos upgraded first
/// never drop their devices, which nobody renews.
/// </param>
/// <param name="EdgeTakesPushInOrder">
/// The edge holding the connection takes numbered calls on its push observer
/// (<see cref="Push.IEdgePushObserver.PushInOrderAsync"/>) and puts them back in order. False from an edge built before
/// that method: silos upgraded first call it with <see cref="Push.IEdgePushObserver.PushManyAsync"/>, unnumbered.
/// </param>
[GenerateSerializer, Immutable, Alias("im.DeviceSession")]
public sealed record DeviceSession(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string Platform,
    [property: Id(2)] string EdgeId,
    [property: Id(3)] DateTimeOffset ConnectedAt,
    [property: Id(4)] string ConnectionId = "",
    [property: Id(5)] string ClientVersion = "",
    [property: Id(6)] string NetworkType = "",
    [property: Id(7)] bool Away = false,
    [property: Id(8)] bool EdgeTakesPushMany = false,
    [property: Id(9)] bool EdgeRenewsLease = false,
    [property: Id(10)] bool EdgeTakesPushInOrder = false);
