using System.Collections.Concurrent;
using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// A per-user send rate across all conversations, on this edge (a user's devices are usually on one edge; the
/// conversation grains add their own per-conversation limit). One <see cref="RequestBudget"/> token bucket per user,
/// swept when the table grows.
/// </summary>
public sealed class UserSendRateLimiter(IOptions<EdgeOptions> options, TimeProvider time)
{
    private const int SweepAbove = 100_000;
    private readonly ConcurrentDictionary<string, RequestBudget> _buckets = new(StringComparer.Ordinal);

    /// <summary>True when the user may send one more message now.</summary>
    public bool TryAcquire(string userId)
    {
        var rate = options.Value.UserSendRatePerSecond;
        if (rate <= 0)
        {
            return true;
        }

        var burst = Math.Max(1, options.Value.UserSendBurst);
        var now = time.GetTimestamp();
        var frequency = time.TimestampFrequency;
        if (_buckets.Count > SweepAbove)
        {
            foreach (var (key, bucket) in _buckets)
            {
                if (bucket.FullAt(rate, burst, frequency) <= now)
                {
                    _buckets.TryRemove(key, out _);
                }
            }
        }

        var allowed = false;
        _buckets.AddOrUpdate(userId,
            _ =>
            {
                var bucket = default(RequestBudget);
                allowed = bucket.TryTake(1, rate, burst, now, frequency);
                return bucket;
            },
            (_, bucket) =>
            {
                allowed = bucket.TryTake(1, rate, burst, now, frequency);
                return bucket;
            });
        return allowed;
    }
}
