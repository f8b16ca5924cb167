using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// <c>/api/conversations</c> and <c>/api/sync</c>: what a client does without a long connection. The same rules as the TCP
/// and SignalR paths, because all of them end in the same grains. Conversation ids are <see cref="GrainKeys"/> ids,
/// URL-encoded (<c>p2p%3Aalice%3Abob</c>).
/// </summary>
public static class ConversationsApi
{
    public static RouteGroupBuilder MapConversationsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/sync", SyncAsync).RequireAuthorization(ApiPolicies.User).WithTags("Conversations");
        var api = app.MapGroup("/api/conversations/{conversationId}").RequireAuthorization(ApiPolicies.User).WithTags("Conversations");
        api.MapPost("/messages", SendAsync);
        api.MapGet("/messages", HistoryAsync);
        api.MapGet("/changes", ChangesAsync);
        api.MapPost("/read", MarkReadAsync);
        api.MapPatch("/settings", SettingsAsync);
        api.MapPost("/messages/{seq:long}/recall", RecallAsync);
        api.MapPut("/messages/{seq:long}", EditAsync);
        api.MapDelete("/messages/{seq:long}", DeleteAsync);
        return api;
    }

    public static async Task<Results<Ok<SendResponse>, ProblemHttpResult>> SendAsync(string conversationId, SendBody body, ClaimsPrincipal user, IClusterClient cluster, Sessions.UserSendRateLimiter rateLimiter, Metrics.EdgeMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(body);
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        if (!GrainKeys.TryParseConversation(conversationId, out var address))
        {
            return ApiProblems.NotFound();
        }

        if (address.Kind == ConversationKind.Room)
        {
            // A room's members are connected devices: there is no membership for a request to send with.
            return ApiProblems.Invalid("chat rooms are joined and written to over a connection (TCP or the hub), not this API");
        }

        if (address.Kind == ConversationKind.CustomerService && address.First == user.UserId())
        {
            // As over a connection (ClientSession): a shop writes to its customers through its agents.
            return ApiProblems.From(SendResult.Refused(SendStatus.NoAccess, "a shop writes to its customers through its agents"));
        }

        var content = ApiMapper.ToDomain(body.Content);
        if (content is null)
        {
            return ApiProblems.Invalid("content is required (and a thumbnail must be base64)");
        }

        if (body.Class != MessageClass.Instant && !rateLimiter.TryAcquire(user.UserId()))
        {
            return ApiProblems.From(SendResult.Refused(SendStatus.RateLimited, "Sending too fast; slow down."));
        }

        var result = await cluster.For<IConversationGrain>(conversationId).SendAsync(
            new SendRequest(user.UserId(), null, body.ClientMsgId ?? "", content, body.Class ?? MessageClass.Persistent,
                // An empty collapse key is none, as on the long connections (it was refused here as a notification's).
                string.IsNullOrEmpty(body.CollapseKey) ? null : body.CollapseKey, body.Mentions));
        metrics.MessageSent(Metrics.EdgeMetrics.Http, result.Status, System.Diagnostics.Stopwatch.GetElapsedTime(started));
        return result.IsAccepted
            ? TypedResults.Ok(new SendResponse(result.Seq, result.ServerTime, result.Status == SendStatus.Duplicate))
            : ApiProblems.From(result);
    }

    /// <summary>Messages revised after <paramref name="after"/> (none: all), for a client that was away (see <see cref="ChangesResponse"/>).</summary>
    public static async Task<Results<Ok<ChangesResponse>, ProblemHttpResult>> ChangesAsync(
        string conversationId, ClaimsPrincipal user, IClusterClient cluster, DateTimeOffset? after = null, int limit = 50)
    {
        if (!GrainKeys.TryParseConversation(conversationId, out _))
        {
            return ApiProblems.NotFound();
        }

        var result = await cluster.For<IConversationGrain>(conversationId).PullChangesAsync(user.UserId(), after ?? DateTimeOffset.UnixEpoch, PageLimit(limit));
        return result.Status == AccessStatus.Ok
            ? TypedResults.Ok(ApiMapper.ToView(result))
            : ApiProblems.From(result.Status);
    }

    /// <summary>A page's size as asked (0 or less: the default of 50), at most <see cref="MessageLimits.MaxPullLimit"/>, as the hub and TCP take it.</summary>
    private static int PageLimit(int asked) => asked <= 0 ? 50 : Math.Min(asked, MessageLimits.MaxPullLimit);

    public static async Task<Results<Ok<HistoryResponse>, ProblemHttpResult>> HistoryAsync(
        string conversationId, ClaimsPrincipal user, IClusterClient cluster, long afterSeq = 0, long? beforeSeq = null, int limit = 50)
    {
        if (!GrainKeys.TryParseConversation(conversationId, out _))
        {
            return ApiProblems.NotFound();
        }

        var result = await cluster.For<IConversationGrain>(conversationId).PullAsync(user.UserId(), new PullRequest(afterSeq, beforeSeq, PageLimit(limit)));
        return result.Status == AccessStatus.Ok
            ? TypedResults.Ok(ApiMapper.ToView(result))
            : ApiProblems.From(result.Status);
    }

    public static async Task<Ok<SyncResponse>> SyncAsync(ClaimsPrincipal user, IClusterClient cluster, long sinceVersion = 0)
    {
        var result = await cluster.For<IUserGrain>(user.UserId()).SyncAsync(sinceVersion);
        return TypedResults.Ok(new SyncResponse(result.Version, result.Changed.Select(ApiMapper.ToView).ToList()));
    }

    public static async Task<Results<Ok<ConversationView>, ProblemHttpResult>> MarkReadAsync(string conversationId, ReadBody body, ClaimsPrincipal user, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        var result = GrainKeys.TryParseConversation(conversationId, out _)
            ? await cluster.For<IUserGrain>(user.UserId()).MarkReadAsync(conversationId, body.Seq)
            : new MarkReadResult(AccessStatus.NotFound, null);
        return result is { Status: AccessStatus.Ok, Entry: { } entry } ? TypedResults.Ok(ApiMapper.ToView(entry)) : ApiProblems.From(result.Status);
    }

    public static async Task<Results<Ok<ConversationView>, ProblemHttpResult>> SettingsAsync(string conversationId, SettingsBody body, ClaimsPrincipal user, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!StorableText.IsStorable(body.Draft))
        {
            return ApiProblems.Invalid("draft must not hold a NUL character or half of a surrogate pair");
        }

        var entry = GrainKeys.TryParseConversation(conversationId, out _)
            ? await cluster.For<IUserGrain>(user.UserId()).UpdateConversationSettingsAsync(conversationId, new ConversationSettings(body.Muted, body.Pinned, body.Hidden, body.Draft))
            : null;
        return entry is null ? ApiProblems.NotFound() : TypedResults.Ok(ApiMapper.ToView(entry));
    }

    public static Task<Results<NoContent, ProblemHttpResult>> RecallAsync(string conversationId, long seq, ClaimsPrincipal user, IClusterClient cluster) =>
        DoAsync(conversationId, c => cluster.For<IConversationGrain>(c).RecallAsync(user.UserId(), seq));

    public static Task<Results<NoContent, ProblemHttpResult>> EditAsync(string conversationId, long seq, EditBody body, ClaimsPrincipal user, IClusterClient cluster) =>
        ApiMapper.ToDomain(body?.Content) is { } content
            ? DoAsync(conversationId, c => cluster.For<IConversationGrain>(c).EditAsync(user.UserId(), seq, content))
            : Task.FromResult<Results<NoContent, ProblemHttpResult>>(ApiProblems.Invalid("content is required"));

    public static Task<Results<NoContent, ProblemHttpResult>> DeleteAsync(string conversationId, long seq, ClaimsPrincipal user, IClusterClient cluster) =>
        DoAsync(conversationId, c => cluster.For<IConversationGrain>(c).DeleteForSelfAsync(user.UserId(), seq));

    private static async Task<Results<NoContent, ProblemHttpResult>> DoAsync(string conversationId, Func<string, Task<AccessStatus>> operation)
    {
        if (!GrainKeys.TryParseConversation(conversationId, out _))
        {
            return ApiProblems.NotFound();
        }

        var status = await operation(conversationId);
        return status == AccessStatus.Ok ? TypedResults.NoContent() : ApiProblems.From(status);
    }
}
