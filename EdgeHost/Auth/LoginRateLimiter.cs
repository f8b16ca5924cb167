using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Bounds login attempts per account (failures) and per client address (all attempts), in fixed windows
/// (<see cref="AuthOptions.LoginRateWindow"/>). Per edge host: a guesser spread over several edges gets each edge's
/// allowance, which still caps the rate at a handful per second.
/// </summary>
public sealed class LoginRateLimiter(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);

    private TimeSpan Window => options.Value.LoginRateWindow;

    /// <summary>True when another attempt for this account from this address may be tried now; counts the attempt for the address.</summary>
    public bool TryBegin(string accountId, string address) =>
        Count("ip:" + address, options.Value.LoginAttemptsPerAddress, increment: true)
        && Count("account:" + accountId, options.Value.LoginFailuresPerAccount, increment: false);

    /// <summary>Counts a failed attempt against the account.</summary>
    public void Failed(string accountId) => Count("account:" + accountId, options.Value.LoginFailuresPerAccount, increment: true);

    private bool Count(string key, int limit, bool increment)
    {
        var now = time.GetUtcNow();
        if (_counters.Count > 100_000)
        {
            // Old windows are dead weight: sweep them when the table grows.
            foreach (var (k, c) in _counters)
            {
                if (now - c.Start >= Window)
                {
                    _counters.TryRemove(k, out _);
                }
            }
        }

        var counter = _counters.AddOrUpdate(key,
            _ => new Counter(now, increment ? 1 : 0),
            (_, c) => now - c.Start >= Window ? new Counter(now, increment ? 1 : 0) : c with { Count = c.Count + (increment ? 1 : 0) });
        return increment ? counter.Count <= limit : counter.Count < limit;
    }

    private sealed record Counter(DateTimeOffset Start, int Count);
}
