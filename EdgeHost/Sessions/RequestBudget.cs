namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// A token bucket that refills at a rate up to a burst; the edge's rate limits are made of it (this one and
/// <see cref="UserSendRateLimiter"/>'s per-user send rate).
/// As one connection's budget of requests: requests that have
/// limits of their own (sends of stored messages, per user) or that cost the cluster nothing (logins, heartbeats) are
/// not counted; everything else a client asks for (sync, pull, read marks, recall, typing, room joins, connection
/// tokens…) is a grain call or a storage write, so without a budget one misbehaving client could keep a silo busy at
/// whatever rate its connection carries.
/// </summary>
/// <remarks>
/// A struct held in the connection's session (16 bytes: at 19,000 connections per edge each connection's bytes count).
/// Not thread-safe: its owner takes it under its own lock.
/// </remarks>
public struct RequestBudget
{
    private double _tokens;
    private long _refilledAt;

    /// <summary>
    /// Takes <paramref name="cost"/> tokens if there are that many (a new budget starts full); false, taking none,
    /// when the client is over its budget and must be answered "rate limited".
    /// </summary>
    /// <param name="cost">Tokens the request costs.</param>
    /// <param name="ratePerSecond">Tokens added per second.</param>
    /// <param name="burst">The most tokens the budget holds.</param>
    /// <param name="now">Now, as a <see cref="TimeProvider.GetTimestamp"/>.</param>
    /// <param name="timestampFrequency">Timestamps per second (<see cref="TimeProvider.TimestampFrequency"/>).</param>
    public bool TryTake(int cost, double ratePerSecond, double burst, long now, long timestampFrequency)
    {
        if (_refilledAt == 0)
        {
            _tokens = burst;
        }
        else if (now > _refilledAt)
        {
            _tokens = Math.Min(burst, _tokens + ((now - _refilledAt) * ratePerSecond / timestampFrequency));
        }

        // Never backwards: a clock that steps back must not credit the same interval twice.
        _refilledAt = Math.Max(_refilledAt, Math.Max(now, 1));
        if (_tokens < cost)
        {
            return false;
        }

        _tokens -= cost;
        return true;
    }

    /// <summary>
    /// When the budget is full again (a timestamp), if nothing more is taken; 0 for one never used, which is full.
    /// </summary>
    /// <param name="ratePerSecond">Tokens added per second.</param>
    /// <param name="burst">The most tokens the budget holds.</param>
    /// <param name="timestampFrequency">Timestamps per second.</param>
    public readonly long FullAt(double ratePerSecond, double burst, long timestampFrequency) =>
        _refilledAt == 0 || _tokens >= burst
            ? _refilledAt
            : _refilledAt + (long)Math.Ceiling((burst - _tokens) * timestampFrequency / ratePerSecond);
}
