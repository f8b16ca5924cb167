using System.Globalization;
using System.Threading.RateLimiting;
using Orleans.Im.EdgeHost.Hubs;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// The HTTP API's counterpart of a connection's request budget: each signed-in user's requests to this edge host draw
/// from a token bucket of <see cref="EdgeOptions.RequestsPerSecond"/> and <see cref="EdgeOptions.RequestBurst"/>; past
/// it the answer is 429 <c>rate_limited</c> without reaching the cluster. Calls with an API key (trusted systems) and
/// anonymous ones (logins have a limit of their own) are not counted, nor the chat hub's requests: its invocations are
/// budgeted per connection, and a long-polling client's polls are not requests of the user's.
/// </summary>
public static class UserRequestLimiter
{
    /// <summary>Registers the limiter (ASP.NET Core's rate limiting, one token bucket per user).</summary>
    public static IServiceCollection AddUserRequestLimiter(this IServiceCollection services, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return services.AddRateLimiter(limiter =>
        {
            limiter.GlobalLimiter = PartitionedRateLimiter.Create<HttpContext, string>(http => PartitionOf(http, options));
            limiter.OnRejected = (context, _) =>
            {
                // When a token is due back: clients that honour Retry-After wait that long instead of guessing.
                if (context.Lease.TryGetMetadata(MetadataName.RetryAfter, out var retryAfter))
                {
                    context.HttpContext.Response.Headers.RetryAfter = Math.Max(1, (int)Math.Ceiling(retryAfter.TotalSeconds)).ToString(CultureInfo.InvariantCulture);
                }

                return new ValueTask(ApiProblems
                    .Problem(StatusCodes.Status429TooManyRequests, "rate_limited", "Too many requests; slow down.")
                    .ExecuteAsync(context.HttpContext));
            };
        });
    }

    private static RateLimitPartition<string> PartitionOf(HttpContext http, EdgeOptions options)
    {
        if (options.RequestsPerSecond <= 0
            || http.Request.Path.StartsWithSegments(ChatHub.Path, StringComparison.OrdinalIgnoreCase)
            || http.User.FindFirst(ApiUser.UserIdClaim)?.Value is not { Length: > 0 } userId)
        {
            return RateLimitPartition.GetNoLimiter("");
        }

        return RateLimitPartition.GetTokenBucketLimiter(userId, _ => BucketOf(options));
    }

    private static TokenBucketRateLimiterOptions BucketOf(EdgeOptions options)
    {
        // Whole tokens per period: about ten refills a second for fast rates (the shared limiter's timer ticks every
        // 100 ms), a token at a time for slow ones, the period chosen so that the rate comes out as configured.
        var rate = options.RequestsPerSecond;
        var tokensPerPeriod = Math.Max(1, (int)Math.Round(rate / 10));
        return new TokenBucketRateLimiterOptions
        {
            TokenLimit = options.RequestBurst,
            TokensPerPeriod = tokensPerPeriod,
            ReplenishmentPeriod = TimeSpan.FromSeconds(Math.Min(tokensPerPeriod / rate, MaxReplenishmentSeconds)),
            QueueLimit = 0,
            AutoReplenishment = true,
        };
    }

    /// <summary>A day: the slowest refill (rates far below a token a day are not distinguished).</summary>
    private const double MaxReplenishmentSeconds = 86_400;
}
