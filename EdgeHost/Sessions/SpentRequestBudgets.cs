using System.Collections.Concurrent;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// The request budgets of connections that closed before their budget had refilled, by user, until it would have: the
/// user's next connection on this edge starts from there, not from a full budget. Without it a client could spend its
/// burst, log out and log in again (a login costs nothing of the budget) for a fresh one, as often as it can reconnect.
/// Only budgets that were spent are kept, and only for as long as they take to refill (<see cref="EdgeOptions.RequestBurst"/>
/// over <see cref="EdgeOptions.RequestsPerSecond"/>: 10 s by default), so the table stays small.
/// </summary>
public sealed class SpentRequestBudgets
{
    private const int SweepAbove = 10_000;
    private readonly ConcurrentDictionary<string, (RequestBudget Budget, long FullAt)> _byUser = new(StringComparer.Ordinal);

    /// <summary>Users with a spent budget kept now.</summary>
    public int Count => _byUser.Count;

    /// <summary>Keeps a closed connection's budget for its user, if it is not full again by <paramref name="now"/>.</summary>
    public void Keep(string userId, RequestBudget budget, long fullAt, long now)
    {
        if (fullAt <= now)
        {
            return;
        }

        if (_byUser.Count > SweepAbove)
        {
            foreach (var (user, kept) in _byUser)
            {
                if (kept.FullAt <= now)
                {
                    _byUser.TryRemove(user, out _);
                }
            }
        }

        _byUser[userId] = (budget, fullAt);
    }

    /// <summary>The budget a new connection of <paramref name="userId"/> starts from: a spent one kept for the user, or none (full).</summary>
    public RequestBudget? Take(string userId, long now) =>
        _byUser.TryRemove(userId, out var kept) && kept.FullAt > now ? kept.Budget : null;
}
