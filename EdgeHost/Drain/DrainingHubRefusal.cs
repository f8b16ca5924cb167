using Orleans.Im.EdgeHost.Hubs;

namespace Orleans.Im.EdgeHost.Drain;

/// <summary>
/// While the edge host drains, a new hub connection is refused with 503 before its handshake: a balancer that retries
/// the next upstream on 503 (nginx: <c>proxy_next_upstream http_503</c>) sends the page to another edge at once, and
/// without one the page counts a failed attempt and backs off. Accepted, the connection would be authenticated and
/// registered only to be redirected and closed, and a least-connections balancer, seeing the draining edge emptiest,
/// would send the page back to it again and again. Requests of connections already open (long polling's, which carry
/// the connection's <c>id</c>) go on: their redirect is yet to reach them.
/// </summary>
public static class DrainingHubRefusal
{
    /// <summary>When to try again, in seconds: any other edge takes the connection now.</summary>
    private const string RetryAfterSeconds = "1";

    public static IApplicationBuilder UseDrainingHubRefusal(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var path = context.Request.Path;
            if (path.StartsWithSegments(ChatHub.Path, out var rest)
                && (rest.Equals("/negotiate", StringComparison.OrdinalIgnoreCase) || (!rest.HasValue && !context.Request.Query.ContainsKey("id")))
                && context.RequestServices.GetRequiredService<EdgeDrain>().IsDraining)
            {
                context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
                context.Response.Headers.RetryAfter = RetryAfterSeconds;
                return;
            }

            await next(context);
        });
}
