namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>Refuses a polling hub request that carries a connection's token under another sign-in than the connection's.</summary>
public static class HubConnectionOwnerCheck
{
    /// <summary>After authentication: the request's user is compared with the connection's.</summary>
    public static IApplicationBuilder UseHubConnectionOwnerCheck(this IApplicationBuilder app)
    {
        var owners = app.ApplicationServices.GetRequiredService<HubConnectionOwners>();
        return app.Use(async (context, next) =>
        {
            // The hub's path and anything under it: routing takes "/hubs/chat/" (a trailing slash) for the hub itself, so
            // an exact match let a stolen token through with one more character. Negotiate carries no connection token.
            if (context.Request.Path.StartsWithSegments(ChatHub.Path, StringComparison.OrdinalIgnoreCase)
                && context.Request.Query[HubConnectionOwners.ConnectionTokenParameter].ToString() is { Length: > 0 } token
                && context.User.Identity?.IsAuthenticated == true
                && owners.IsAnotherSignIn(token, context.User))
            {
                context.Response.StatusCode = StatusCodes.Status403Forbidden;
                return;
            }

            await next(context);
        });
    }
}
