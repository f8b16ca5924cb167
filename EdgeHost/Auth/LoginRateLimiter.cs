using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>
/// Bounds failed login attempts per account and per client address, in fixed windows
/// (<see cref="AuthOptions.LoginRateWindow"/>). Per edge host: a guesser spread over several edges gets each edge's
/// allowance, which still caps the rate at a handful per second. The address is the client's as the trusted proxies
/// tell it (<see cref="EdgeOptions.TrustedProxies"/>), so clients behind one balancer are not counted as one.
/// </summary>
public sealed class LoginRateLimiter(IOptions<AuthOptions> options, TimeProvider time)
{
    private readonly ConcurrentDictionary<string, Counter> _counters = new(StringComparer.Ordinal);

    /// <summary>The table is not swept below this size.</summary>
    private const int MinSweepSize = 100_000;

    /// <summary>The size past which the next attempt sweeps the table.</summary>
    private int _sweepAbove = MinSweepSize;

    private TimeSpan Window => options.Value.LoginRateWindow;

    /// <summary>
    /// True when another password attempt for this account from this address may be tried now. Reserves one of the
    /// address's failures and one of the account's: the check takes a slow hash, and counting a failure only after it
    /// would let attempts made in parallel all pass the cap. <see cref="Succeeded"/> gives both back, so that an office
    /// behind one address (a NAT no trusted proxy reports) signing in again after a password reset is not capped at the
    /// failure allowance, as refreshes are not.
    /// </summary>
    public bool TryBegin(string accountId, string address)
    {
        if (!Count("ip:" + address, options.Value.LoginAttemptsPerAddress))
        {
            return false;
        }

        // Refused for the account's sake, the address's reservation is given back: one user's locked account behind an
        // office's NAT would otherwise use up everyone's allowance there.
        if (!Count("account:" + accountId, options.Value.LoginFailuresPerAccount))
        {
            GiveBack("ip:" + address);
            return false;
        }

        if (!Count("logins:" + accountId, options.Value.LoginsPerAccount))
        {
            GiveBack("account:" + accountId);
            GiveBack("ip:" + address);
            return false;
        }

        return true;
    }

    /// <summary>
    /// True when another refresh naming this user from this address may be tried now. Only refused refreshes are counted
    /// (a token made up, or spent: each one still activates the account grain it names): the attempt reserves one of
    /// the address's failures for that user (<see cref="AuthOptions.LoginAttemptsPerAddress"/>) and one of the
    /// address's for all users (<see cref="AuthOptions.RefreshFailuresPerAddress"/>, far larger), and
    /// <see cref="RefreshSucceeded"/> gives both back. Counting every refresh would cap a whole deployment's renewals
    /// behind one proxy (or a carrier's NAT) at the failure allowance; counting failures per address alone let one client
    /// retrying a dead token there refuse everyone else's renewals. Refreshes have allowances of their own, so renewals
    /// never take a login's place.
    /// </summary>
    public bool TryRefresh(string userId, string address)
    {
        // The address first: past its bound, made-up user ids must not each add an entry to the table.
        if (!Count(RefreshAddressKey(address), options.Value.RefreshFailuresPerAddress))
        {
            return false;
        }

        if (!Count(RefreshUserKey(userId, address), options.Value.LoginAttemptsPerAddress))
        {
            GiveBack(RefreshAddressKey(address));
            return false;
        }

        return true;
    }

    /// <summary>The refresh begun with <see cref="TryRefresh"/> was accepted (or went unanswered): it is not a failure.</summary>
    public void RefreshSucceeded(string userId, string address)
    {
        GiveBack(RefreshUserKey(userId, address));
        GiveBack(RefreshAddressKey(address));
    }

    // The address first: a user id holds no space (GrainKeys), so no two pairs make one key.
    private static string RefreshUserKey(string userId, string address) => $"refresh-user:{address} {userId}";

    private static string RefreshAddressKey(string address) => "refresh-ip:" + address;

    /// <summary>
    /// The attempt begun with <see cref="TryBegin"/> was the right password (or none was tried): it is not a failure. It
    /// still counts among the account's logins (<see cref="AuthOptions.LoginsPerAccount"/>).
    /// </summary>
    public void Succeeded(string accountId, string address)
    {
        GiveBack("account:" + accountId);
        GiveBack("ip:" + address);
    }

    private void GiveBack(string key)
    {
        var now = time.GetUtcNow();
        // Only within the window it was reserved in: a later window did not count it.
        _counters.AddOrUpdate(key,
            _ => new Counter(now, 0),
            (_, c) => now - c.Start >= Window || c.Count == 0 ? c : c with { Count = c.Count - 1 });
    }

    private bool Count(string key, int limit)
    {
        var now = time.GetUtcNow();
        if (_counters.Count > Volatile.Read(ref _sweepAbove))
        {
            // Old windows are dead weight: swept when the table has doubled since the last sweep, not at every attempt
            // past a size (a table full of live windows, many addresses attempting at once, made every attempt scan it).
            foreach (var (k, c) in _counters)
            {
                if (now - c.Start >= Window)
                {
                    _counters.TryRemove(k, out _);
                }
            }

            Volatile.Write(ref _sweepAbove, Math.Max(MinSweepSize, _counters.Count * 2));
        }

        // Atomic per key: of attempts made at once, exactly those within the limit pass.
        var counter = _counters.AddOrUpdate(key,
            _ => new Counter(now, 1),
            (_, c) => now - c.Start >= Window ? new Counter(now, 1) : c with { Count = c.Count + 1 });
        return counter.Count <= limit;
    }

    private sealed record Counter(DateTimeOffset Start, int Count);
}
