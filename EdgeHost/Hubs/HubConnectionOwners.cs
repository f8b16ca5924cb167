using System.Collections.Concurrent;
using System.Security.Claims;
using Orleans.Im.EdgeHost.Api;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// Which sign-in (user and session) opened each hub connection on a polling transport (long polling, server-sent
/// events), by the connection token its requests carry as <c>?id=</c>. On those transports every request is a new HTTP
/// request, and SignalR runs whatever one carrying the token sends as the connection's own user, only logging a user
/// that changed: a token leaked from a log or a shared link let any other signed-in user act as the connection's. On
/// WebSockets the user is fixed by the one upgrade request, so those connections are not listed.
/// </summary>
public sealed class HubConnectionOwners
{
    /// <summary>The query parameter SignalR's clients carry the connection token in.</summary>
    public const string ConnectionTokenParameter = "id";

    private readonly ConcurrentDictionary<string, (string UserId, string SessionId)> _owners = new(StringComparer.Ordinal);

    /// <summary>Lists a connection that opened with the token <paramref name="connectionToken"/>.</summary>
    public void Add(string connectionToken, string userId, string sessionId) =>
        _owners[connectionToken] = (userId, sessionId);

    /// <summary>Forgets a connection that ended.</summary>
    public void Remove(string connectionToken) => _owners.TryRemove(connectionToken, out _);

    /// <summary>
    /// Whether a request for the connection <paramref name="connectionToken"/> comes from another sign-in than the one that
    /// opened it. A token not listed (a WebSocket, or a connection whose hub has not yet run) is not refused here.
    /// </summary>
    public bool IsAnotherSignIn(string connectionToken, ClaimsPrincipal user)
    {
        ArgumentNullException.ThrowIfNull(user);
        return _owners.TryGetValue(connectionToken, out var owner)
            && (user.FindFirstValue(ApiUser.UserIdClaim) != owner.UserId || user.FindFirstValue(ApiUser.SessionIdClaim) != owner.SessionId);
    }
}
