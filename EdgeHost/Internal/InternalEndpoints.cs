namespace Orleans.Im.EdgeHost.Internal;

/// <summary>
/// Keeps <c>/metrics</c>, <c>/api/admin/…</c>, <c>/api/system/…</c> and <c>/api/auth/verify</c> off the public listener when
/// <see cref="EdgeOptions.InternalHttpUrl"/> is set: a request for them that did not come in on the internal port is
/// answered 404, as if they did not exist. Told apart by the port the connection reached, which a client cannot choose
/// (a Host header or a path it can), and by both the request's path and the endpoint routing matched, compared without
/// case as routing compares: <c>/METRICS</c> or <c>/Api/Admin/stats</c> reach the same endpoints as their lower-case
/// names, and a path routing matches in some other spelling is still refused by its route pattern.
/// </summary>
public static class InternalEndpoints
{
    /// <summary>
    /// The path prefixes served on the internal listener only: everything that takes the admin API key (token
    /// verification included), so that the key cannot even be tried from outside.
    /// </summary>
    public static readonly IReadOnlyList<PathString> Prefixes = [new("/metrics"), new("/api/admin"), new("/api/system"), new("/api/auth/verify")];

    /// <summary>
    /// Adds the check when an internal listener is configured; otherwise (development) the one listener serves
    /// everything. Runs after routing, which a web application does first, so the matched endpoint is known.
    /// </summary>
    public static IApplicationBuilder UseInternalEndpoints(this IApplicationBuilder app, EdgeOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        if (string.IsNullOrEmpty(options.InternalHttpUrl))
        {
            return app;
        }

        var internalPort = new Uri(options.InternalHttpUrl).Port;
        return app.Use(async (context, next) =>
        {
            if (context.Connection.LocalPort != internalPort && IsInternal(context))
            {
                context.Response.StatusCode = StatusCodes.Status404NotFound;
                return;
            }

            await next(context);
        });
    }

    /// <summary>Whether the request's path, or the route pattern of the endpoint it matched, is an internal one.</summary>
    public static bool IsInternal(HttpContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        if (IsInternalPath(context.Request.Path))
        {
            return true;
        }

        return context.GetEndpoint() is RouteEndpoint { RoutePattern.RawText: { } pattern }
               && IsInternalPath(new PathString(pattern.StartsWith('/') ? pattern : "/" + pattern));
    }

    /// <summary>Whether <paramref name="path"/> is one of <see cref="Prefixes"/> or below one, in any case.</summary>
    public static bool IsInternalPath(PathString path)
    {
        foreach (var prefix in Prefixes)
        {
            if (path.StartsWithSegments(prefix, StringComparison.OrdinalIgnoreCase))
            {
                return true;
            }
        }

        return false;
    }
}
