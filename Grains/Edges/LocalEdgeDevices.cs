namespace Orleans.Im.Edges;

/// <summary>
/// Which users active on this silo have devices on which edge host (those edges renew, so may be lost): when the edge
/// directory records an edge as lost, <see cref="LostEdgeSweeper"/> tells exactly these user grains. Kept by the user
/// grains themselves as their devices come and go; in memory, like the activations it points to.
/// </summary>
public sealed class LocalEdgeDevices
{
    private readonly Lock _lock = new();
    private readonly Dictionary<string, HashSet<string>> _usersByEdge = new(StringComparer.Ordinal);

    /// <summary>The user has a device on the edge.</summary>
    public void Add(string edgeId, string userId)
    {
        lock (_lock)
        {
            if (!_usersByEdge.TryGetValue(edgeId, out var users))
            {
                _usersByEdge[edgeId] = users = new HashSet<string>(StringComparer.Ordinal);
            }

            users.Add(userId);
        }
    }

    /// <summary>The user has no device on the edge any more (or its grain is deactivating).</summary>
    public void Remove(string edgeId, string userId)
    {
        lock (_lock)
        {
            if (_usersByEdge.TryGetValue(edgeId, out var users) && users.Remove(userId) && users.Count == 0)
            {
                _usersByEdge.Remove(edgeId);
            }
        }
    }

    /// <summary>The users with a device on the edge now (a copy).</summary>
    public string[] UsersOn(string edgeId)
    {
        lock (_lock)
        {
            return _usersByEdge.TryGetValue(edgeId, out var users) ? [.. users] : [];
        }
    }
}
