namespace Orleans.Im.Users;

/// <summary>Whether a user can be reached now.</summary>
[GenerateSerializer, Alias("im.PresenceStatus")]
public enum PresenceStatus
{
    /// <summary>No device connected (after the reconnect grace).</summary>
    Offline = 0,

    /// <summary>At least one device connected and not away.</summary>
    Online = 1,

    /// <summary>Connected, but every device says its user is away.</summary>
    Away = 2,

    /// <summary>
    /// Not told: the user does not share presence, or has blocked the one asking. Not "offline", which would be a lie
    /// whenever the user is online.
    /// </summary>
    Hidden = 3,
}
