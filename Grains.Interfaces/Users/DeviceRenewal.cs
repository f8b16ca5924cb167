namespace Orleans.Im.Users;

/// <summary>What a user grain made of an edge host's renewal of a device (<see cref="IUserGrain.RenewDeviceAsync"/>).</summary>
[GenerateSerializer, Alias("im.DeviceRenewal")]
public enum DeviceRenewal
{
    /// <summary>Registered on this connection: its lease runs from now.</summary>
    Renewed = 0,

    /// <summary>
    /// The grain had forgotten the device (it was activated again, maybe elsewhere after a lost silo, or the device's
    /// lease ran out while its edge host could not reach it) and registered it again: nothing was pushed to it meanwhile,
    /// so the device syncs, and the edge tells the grain the device's chat rooms again.
    /// </summary>
    Restored = 1,

    /// <summary>
    /// A newer connection took its place (the device logged in again, maybe on another edge host, or a device of the same
    /// class made it leave): this connection is on its way out, and is not registered again, which would take the
    /// device's pushes back or make the newer device leave.
    /// </summary>
    Superseded = 2,
}
