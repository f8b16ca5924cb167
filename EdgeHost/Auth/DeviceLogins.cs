using Orleans.Im.Accounts;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>Which login a session stands for: what a device's push token is bound to.</summary>
public static class DeviceLogins
{
    /// <summary>
    /// The login session of <paramref name="sessionId"/>: itself, or for a connection's session (its token dies with the
    /// connection) the device's login it was issued under, which lives on after the connection closes. Null when it has
    /// ended.
    /// </summary>
    public static async Task<LoginSession?> LoginOfAsync(IClusterClient cluster, string userId, string sessionId)
    {
        ArgumentNullException.ThrowIfNull(cluster);
        var sessions = await cluster.For<IAccountGrain>(userId).GetSessionsAsync();
        var current = sessions.FirstOrDefault(s => s.SessionId == sessionId);
        return current?.ParentSessionId is { } parent ? sessions.FirstOrDefault(s => s.SessionId == parent) : current;
    }
}
