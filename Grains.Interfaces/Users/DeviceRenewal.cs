namespace Orleans.Im.Users;

/// <summary>What a user grain made of an edge host's renewal of a device (<see cref="IUserGrain.RenewDeviceAsync"/>).</summary>
[GenerateSerializer, Alias("im.DeviceRenewal")]
public enum DeviceRenewal
{
    /// <summary>Registered on this connection: its lease runs from now.</summary>
    Renewed = 0,

    /// <summary>
    /// The grain does not know the device (it was activated again elsewhere, or dropped the device when its lease ran
    /// out): the edge host registers it again, and the device syncs for what it missed.
    /// </summary>
    Unknown = 1,

    /// <summary>
    /// The device is registered on another, newer connection (it logged in again, maybe on another edge host): this
    /// one is on its way out and must not take the device's pushes back.
    /// </summary>
    Superseded = 2,
}
