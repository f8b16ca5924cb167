using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// A per-user send rate across all conversations, on this edge (a user's devices are usually on one edge; the
/// conversation grains add their own per-conversation limit). Token buckets, swept when the table grows.
/// </summary>
public sealed class UserSendRateLimiter(IOptions<EdgeOptions> options, TimeProvider time)
{
    private const int SweepAbove = 100_000;
    private readonly ConcurrentDictionary<string, Bucket> _buckets = new(StringComparer.Ordinal);

    /// <summary>True when the user may send one more message now.</summary>
    public bool TryAcquire(string userId)
    {
        var rate = options.Value.UserSendRatePerSecond;
        if (rate <= 0)
        {
            return true;
        }

        var burst = Math.Max(1, options.Value.UserSendBurst);
        var now = time.GetUtcNow();
        if (_buckets.Count > SweepAbove)
        {
            foreach (var (key, bucket) in _buckets)
            {
                if ((now - bucket.At).TotalSeconds * rate >= burst)
                {
                    _buckets.TryRemove(key, out _);
                }
            }
        }

        var allowed = false;
        _buckets.AddOrUpdate(userId,
            _ =>
            {
                allowed = true;
                return new Bucket(burst - 1, now);
            },
            (_, bucket) =>
            {
                var tokens = Math.Min(burst, bucket.Tokens + (Math.Max(0, (now - bucket.At).TotalSeconds) * rate));
                allowed = tokens >= 1;
                return new Bucket(allowed ? tokens - 1 : tokens, now);
            });
        return allowed;
    }

    private sealed record Bucket(double Tokens, DateTimeOffset At);
}
