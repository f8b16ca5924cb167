using System.Collections.Concurrent;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// The request budgets of connections that closed before their budget had refilled, by user and device, until it would
/// have: that device's next connection on this edge starts from there, not from a full budget. Without it a client could
/// spend its burst, log out and log in again (a login costs nothing of the budget) for a fresh one, as often as it can
/// reconnect. By device, so that a web tab that spent its budget does not hold up the user's phone. Only budgets that were
/// spent are kept, and only for as long as they take to refill (<see cref="EdgeOptions.RequestBurst"/> over
/// <see cref="EdgeOptions.RequestsPerSecond"/>: 10 s by default), so the table stays small.
/// </summary>
public sealed class SpentRequestBudgets
{
    private const int SweepFrom = 10_000;
    private readonly ConcurrentDictionary<(string UserId, string DeviceId), (RequestBudget Budget, long FullAt)> _byDevice = new();
    private int _sweepAbove = SweepFrom;

    /// <summary>Devices with a spent budget kept now.</summary>
    public int Count => _byDevice.Count;

    /// <summary>
    /// Keeps a closed connection's budget for its device, if it is not full again by <paramref name="now"/>; of two, the one
    /// that is full later.
    /// </summary>
    public void Keep(string userId, string deviceId, RequestBudget budget, long fullAt, long now)
    {
        if (fullAt <= now)
        {
            return;
        }

        if (_byDevice.Count > Volatile.Read(ref _sweepAbove))
        {
            // Swept when the table has doubled since the last sweep, not on every close past a size.
            foreach (var (device, kept) in _byDevice)
            {
                if (kept.FullAt <= now)
                {
                    _byDevice.TryRemove(device, out _);
                }
            }

            Volatile.Write(ref _sweepAbove, Math.Max(SweepFrom, _byDevice.Count * 2));
        }

        _byDevice.AddOrUpdate((userId, deviceId), (budget, fullAt), (_, kept) => kept.FullAt >= fullAt ? kept : (budget, fullAt));
    }

    /// <summary>The budget a new connection of this device starts from: a spent one kept for it, or none (full).</summary>
    public RequestBudget? Take(string userId, string deviceId, long now) =>
        _byDevice.TryRemove((userId, deviceId), out var kept) && kept.FullAt > now ? kept.Budget : null;
}
