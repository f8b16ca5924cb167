namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// One signed-in device of the caller: a login, with when it was last renewed (a device that renews is in use).
/// <paramref name="Current"/> marks the caller's own; <paramref name="ConnectedSince"/> is set while the device holds a
/// long connection (TCP or the web chat's hub), with the app's version it gave.
/// </summary>
public sealed record SessionView(
    string SessionId,
    string DeviceId,
    string Platform,
    DateTimeOffset CreatedAt,
    DateTimeOffset LastRefreshedAt,
    DateTimeOffset ExpiresAt,
    bool Current,
    DateTimeOffset? ConnectedSince = null,
    string? ClientVersion = null);
