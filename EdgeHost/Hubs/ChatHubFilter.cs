using Microsoft.AspNetCore.SignalR;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Logging;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// Around every hub method call: counts the invocation and its completion as frames in and out, and runs it inside a
/// logging scope with the connection, user and (when the first argument is one) conversation ids; takes it from the
/// connection's request budget first (<see cref="EdgeOptions.RequestsPerSecond"/>).
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
            var open = context.Items.TryGetValue(ChatHub.SessionKey, out var item) ? item as SessionHub.OpenSession : null;
            if (open is not null && (open.IsClosed || open.Target is SignalRPushTarget { ClosedByServer: true }))
            {
                // Kicked (signed out, revoked, replaced) or redirected: nothing more is served while its last event is on
                // its way, however long the client takes to read it.
                return Answer(invocationContext, Closed);
            }

            if (open is not null && !open.TryTakeRequest(CostOf(invocationContext)))
            {
                // Over the connection's budget: answered without reaching the cluster, in the method's own form where it has one.
                metrics.RequestRateLimited(transport);
                if (invocationContext.HubMethodName == nameof(ChatHub.Send))
                {
                    // A send's outcome is counted like TCP's, which acks a refused instant message as rate limited.
                    metrics.MessageSent(transport, SendStatus.RateLimited, TimeSpan.Zero);
                }

                return Answer(invocationContext, RateLimited);
            }

            return await next(invocationContext);
        }
        catch (Exception ex) when (ex is not HubException and not OutOfMemoryException)
        {
            // The cluster or storage could not answer (a timeout, a silo gone, a cancellation from the cluster client: hub
            // methods take no token of the connection's): logged here, inside the scopes, and answered with the stable
            // code TCP answers (UNAVAILABLE, retryable) rather than SignalR's generic error.
            LogInvocationFailed(logger, invocationContext.HubMethodName, ex);
            return Answer(invocationContext, Unavailable);
        }
        finally
        {
            metrics.FramesSent(transport);
        }
    }

    /// <summary>What a hub method over the connection's request budget answers: its <see cref="HubResult.Error"/>, or the error's message.</summary>
    public const string RateLimited = "rate_limited";

    /// <summary>What a hub method whose call into the cluster failed answers (retry with the same ids), in the same way.</summary>
    public const string Unavailable = "unavailable";

    /// <summary>
    /// What a hub method of a connection this edge is closing answers (its session was ended or revoked, or the edge
    /// redirects it; the <c>kick</c> or <c>redirect</c> event says which), in the same way.
    /// </summary>
    public const string Closed = "closed";

    /// <summary>What a hub call costs from the connection's request budget (<see cref="RequestCosts"/>).</summary>
    private static int CostOf(HubInvocationContext invocation) => invocation.HubMethodName switch
    {
        // Stored messages have the user's send rate instead; instant ones do not.
        nameof(ChatHub.Send) => invocation.HubMethodArguments is [_, SendBody { Class: MessageClass.Instant }, ..]
            ? RequestCosts.InstantMessage
            : RequestCosts.Free,
        nameof(ChatHub.Typing) => RequestCosts.InstantMessage,
        _ => RequestCosts.Default,
    };

    /// <summary>An answer of <paramref name="error"/> in the method's own form where it has one; otherwise the error's message.</summary>
    private static object Answer(HubInvocationContext invocation, string error)
    {
        var returns = invocation.HubMethod.ReturnType;
        if (returns == typeof(Task<HubResult>))
        {
            return new HubResult(error);
        }

        if (returns == typeof(Task<HubSendResult>) && invocation.HubMethodArguments is [_, SendBody body, ..])
        {
            return new HubSendResult(body.ClientMsgId ?? "", 0, null, false, error);
        }

        throw new HubException(error);
    }

    [LoggerMessage(1, LogLevel.Warning, "Hub method {Method} failed")]
    private static partial void LogInvocationFailed(ILogger logger, string method, Exception exception);
}
