using Microsoft.AspNetCore.SignalR;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Logging;
using Orleans.Im.EdgeHost.Metrics;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// Around every hub method call: counts the invocation and its completion as frames in and out, and runs it inside a
/// logging scope with the connection, user and (when the first argument is one) conversation ids.
/// </summary>
public sealed partial class ChatHubFilter(EdgeMetrics metrics, ILogger<ChatHubFilter> logger) : IHubFilter
{
    public async ValueTask<object?> InvokeMethodAsync(HubInvocationContext invocationContext, Func<HubInvocationContext, ValueTask<object?>> next)
    {
        ArgumentNullException.ThrowIfNull(invocationContext);
        ArgumentNullException.ThrowIfNull(next);
        var context = invocationContext.Context;
        var transport = HubTransport.Of(context);
        metrics.FrameReceived(transport);
        using var connectionScope = logger.BeginScope(LogScope.Connection(context.ConnectionId, transport));
        using var userScope = context.User?.FindFirst(ApiUser.UserIdClaim) is { Value: var userId } ? logger.BeginScope(LogScope.User(userId)) : null;
        using var conversationScope = invocationContext.HubMethodArguments is [string conversationId, ..]
            && invocationContext.HubMethod.GetParameters() is [{ Name: "conversationId" }, ..]
                ? logger.BeginScope(LogScope.Conversation(conversationId))
                : null;
        try
        {
            return await next(invocationContext);
        }
        catch (Exception ex) when (ex is not HubException and not OperationCanceledException)
        {
            // Logged here, inside the scopes; SignalR then answers the caller with a generic error.
            LogInvocationFailed(logger, invocationContext.HubMethodName, ex);
            throw;
        }
        finally
        {
            metrics.FramesSent(transport);
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Hub method {Method} failed")]
    private static partial void LogInvocationFailed(ILogger logger, string method, Exception exception);
}
