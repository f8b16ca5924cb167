namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// WebSocket upgrades are not covered by CORS: the hub checks the <c>Origin</c> header itself. Allowed: requests without
/// one (native clients), the edge's own origin, and <see cref="EdgeOptions.AllowedOrigins"/>.
/// </summary>
public static class HubOrigins
{
    public static IApplicationBuilder UseHubOriginCheck(this IApplicationBuilder app, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return app.Use(async (context, next) =>
        {
            if (context.Request.Path.StartsWithSegments(ChatHub.Path)
                && context.Request.Headers.Origin.ToString() is { Length: > 0 } origin
                && !IsAllowed(origin, context.Request, options))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            await next(context);
        });
    }

    private static bool IsAllowed(string origin, HttpRequest request, EdgeOptions options) =>
        options.AllowedOrigins.Contains(origin, StringComparer.OrdinalIgnoreCase)
        || (Uri.TryCreate(origin, UriKind.Absolute, out var uri)
            && string.Equals(uri.Authority, request.Host.Value, StringComparison.OrdinalIgnoreCase));
}
