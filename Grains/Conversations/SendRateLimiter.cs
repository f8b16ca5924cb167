namespace Orleans.Im.Conversations;

/// <summary>A token bucket: <c>burst</c> sends at once, then <c>ratePerSecond</c>.</summary>
public sealed class SendRateLimiter(double ratePerSecond, int burst)
{
    private double _tokens = burst;
    private DateTimeOffset _refilledAt = DateTimeOffset.MinValue;

    /// <summary>Takes one token if there is one.</summary>
    public bool TryAcquire(DateTimeOffset now)
    {
        if (_refilledAt != DateTimeOffset.MinValue)
        {
            var elapsed = Math.Max(0, (now - _refilledAt).TotalSeconds);
            _tokens = Math.Min(burst, _tokens + (elapsed * ratePerSecond));
        }

        _refilledAt = now;
        if (_tokens < 1)
        {
            return false;
        }

        _tokens -= 1;
        return true;
    }

    /// <summary>Whether the bucket is full at <paramref name="now"/>: forgetting it then gives nobody a send they did not have.</summary>
    public bool IsFull(DateTimeOffset now) =>
        _refilledAt == DateTimeOffset.MinValue
        || _tokens + (Math.Max(0, (now - _refilledAt).TotalSeconds) * ratePerSecond) >= burst;
}
