namespace Orleans.Im.EdgeHost.Memory;

/// <summary>
/// Decides when a login storm is over, so that its garbage can be given back (see <see cref="LoginStormCompaction"/>):
/// after at least <c>minLogins</c> logins since the last compaction, once logins have stayed below
/// <see cref="QuietLoginsPerSecond"/> for <c>quietFor</c>, and never sooner than <c>minInterval</c> after the last one.
/// Pure: it is told the time and the running login count once a second.
/// </summary>
public sealed class LoginStormPolicy
{
    /// <summary>Fewer logins than this in a second count as quiet: an edge's everyday reconnects, not a storm.</summary>
    public const int QuietLoginsPerSecond = 100;

    private readonly long _minLogins;
    private readonly TimeSpan _quietFor;
    private readonly TimeSpan _minInterval;
    private long _loginsAtLastCompaction;
    private long _loginsAtLastTick;
    private DateTimeOffset? _lastTick;
    private DateTimeOffset? _quietSince;
    private DateTimeOffset? _lastCompaction;

    /// <param name="minLogins">Logins since the last compaction that make a storm; 0 or less: never compact.</param>
    /// <param name="quietFor">How long logins must stay quiet after the storm.</param>
    /// <param name="minInterval">The least time between two compactions.</param>
    public LoginStormPolicy(long minLogins, TimeSpan quietFor, TimeSpan minInterval)
    {
        _minLogins = minLogins;
        _quietFor = quietFor;
        _minInterval = minInterval;
    }

    /// <summary>Logins since the last compaction (or since the start).</summary>
    public long LoginsSinceCompaction => _loginsAtLastTick - _loginsAtLastCompaction;

    /// <summary>
    /// Notes the running count of logins at <paramref name="now"/>; true when the storm is over and the caller should
    /// compact now (the policy then counts from here), with the storm's logins in <paramref name="stormLogins"/>.
    /// </summary>
    public bool Tick(DateTimeOffset now, long loginsSoFar, out long stormLogins)
    {
        stormLogins = 0;
        var previousTick = _lastTick;
        var loginsInTick = loginsSoFar - _loginsAtLastTick;
        _lastTick = now;
        _loginsAtLastTick = loginsSoFar;
        if (_minLogins <= 0 || previousTick is not { } before)
        {
            return false;
        }

        // Scaled to the tick's length: a late tick must not make a storm look quiet, nor a quick one the reverse.
        var seconds = Math.Max((now - before).TotalSeconds, 0.001);
        if (loginsInTick / seconds >= QuietLoginsPerSecond)
        {
            _quietSince = null;
            return false;
        }

        _quietSince ??= before;
        if (LoginsSinceCompaction < _minLogins
            || now - _quietSince < _quietFor
            || (_lastCompaction is { } last && now - last < _minInterval))
        {
            return false;
        }

        stormLogins = LoginsSinceCompaction;
        _lastCompaction = now;
        _loginsAtLastCompaction = loginsSoFar;
        return true;
    }
}
