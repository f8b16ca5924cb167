using Orleans.Im.EdgeHost.Api;

namespace Orleans.Im.EdgeHost.Logging;

/// <summary>Runs each HTTP API request inside a logging scope with the caller's user id and the conversation id of its route.</summary>
public static class RequestLogScope
{
    private const string ConversationRouteValue = "conversationId";

    /// <summary>Adds the middleware; after authentication, so the user is known.</summary>
    public static IApplicationBuilder UseRequestLogScope(this IApplicationBuilder app) =>
        app.Use(async (context, next) =>
        {
            var logger = context.RequestServices.GetRequiredService<ILoggerFactory>().CreateLogger(typeof(RequestLogScope));
            using var userScope = context.User.FindFirst(ApiUser.UserIdClaim) is { Value: var userId }
                ? logger.BeginScope(LogScope.User(userId))
                : null;
            using var conversationScope = context.Request.RouteValues.TryGetValue(ConversationRouteValue, out var id) && id is string conversationId
                ? logger.BeginScope(LogScope.Conversation(conversationId))
                : null;
            await next(context);
        });
}
