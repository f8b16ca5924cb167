using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;
using Orleans.Im.PublicAccounts;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// Official accounts (<c>pub:{id}</c>): users subscribe and unsubscribe; operators broadcast (one stored copy, read
/// diffusion) and list subscribers; the admin API sets accounts up; trusted systems push to chosen subscribers ("reach")
/// one-to-one from the account. Subscribers write to the account one-to-one (<c>p2p</c> with the account's id), where
/// whoever signs in as the account — an operator's console or a robot — answers.
/// </summary>
public static class PublicAccountsApi
{
    public static RouteGroupBuilder MapPublicAccountsApi(this IEndpointRouteBuilder app)
    {
        var admin = app.MapGroup("/api/admin/public-accounts/{accountId}").RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("Public accounts");
        admin.MapPut("", SetupAsync);
        admin.MapGet("", GetForAdminAsync);
        app.MapPost("/api/system/public-accounts/{accountId}/reach", ReachAsync).RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("Public accounts");

        app.MapGet("/api/me/subscriptions", SubscriptionsAsync).RequireAuthorization(ApiPolicies.User).WithTags("Public accounts");
        var api = app.MapGroup("/api/public-accounts/{accountId}").RequireAuthorization(ApiPolicies.User).WithTags("Public accounts");
        api.MapGet("", GetAsync);
        api.MapPut("/subscription", SubscribeAsync);
        api.MapDelete("/subscription", UnsubscribeAsync);
        api.MapGet("/subscribers", SubscribersAsync);
        api.MapPost("/broadcasts", BroadcastAsync);
        return api;
    }

    public static async Task<Results<Ok<PublicAccountView>, ProblemHttpResult>> SetupAsync(string accountId, PublicAccountBody body, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!GrainKeys.IsValidId(accountId))
        {
            return ApiProblems.Invalid("the account id must be 1-64 of A-Z a-z 0-9 - _ .");
        }

        // Operators left out keep those the account has (a rename must not silently take everyone's right to broadcast);
        // an empty list removes them all.
        var operators = body.OperatorIds ?? (await FindAsync(cluster, accountId))?.OperatorIds.ToArray() ?? [];
        var status = await Account(cluster, accountId).SetupPublicAccountAsync(body.Name ?? "", operators);
        if (status == AccessStatus.Invalid)
        {
            return ApiProblems.Invalid($"a name of 1-{PublicAccountLimits.MaxNameLength} characters and at most {PublicAccountLimits.MaxOperators} valid operator ids");
        }

        return status == AccessStatus.Ok && await Account(cluster, accountId).GetPublicAccountAsync() is { } info
            ? TypedResults.Ok(View(info, withOperators: true))
            : ApiProblems.From(status);
    }

    public static async Task<Results<Ok<PublicAccountView>, ProblemHttpResult>> GetForAdminAsync(string accountId, IClusterClient cluster) =>
        await FindAsync(cluster, accountId) is { } info ? TypedResults.Ok(View(info, withOperators: true)) : ApiProblems.NotFound();

    public static async Task<Results<Ok<PublicAccountView>, ProblemHttpResult>> GetAsync(string accountId, ClaimsPrincipal user, IClusterClient cluster) =>
        await FindAsync(cluster, accountId) is { } info
            ? TypedResults.Ok(View(info, withOperators: IsOperator(info, user.UserId())))
            : ApiProblems.NotFound();

    public static async Task<Results<NoContent, ProblemHttpResult>> SubscribeAsync(string accountId, ClaimsPrincipal user, IClusterClient cluster) =>
        Done(GrainKeys.IsValidId(accountId) ? await Account(cluster, accountId).SubscribeAsync(user.UserId()) : AccessStatus.NoAccess);

    public static async Task<Results<NoContent, ProblemHttpResult>> UnsubscribeAsync(string accountId, ClaimsPrincipal user, IClusterClient cluster) =>
        Done(GrainKeys.IsValidId(accountId) ? await Account(cluster, accountId).UnsubscribeAsync(user.UserId()) : AccessStatus.NoAccess);

    /// <summary>The official accounts the caller subscribes to, from the caller's conversation list.</summary>
    public static async Task<Ok<string[]>> SubscriptionsAsync(ClaimsPrincipal user, IClusterClient cluster)
    {
        var list = await cluster.For<IUserGrain>(user.UserId()).SyncAsync(0);
        return TypedResults.Ok(list.Changed
            .Where(e => e.Kind == ConversationKind.PublicAccount && !e.Removed)
            .Select(e => GrainKeys.TryParseConversation(e.ConversationId, out var address) ? address.First : e.ConversationId)
            .Order(StringComparer.Ordinal)
            .ToArray());
    }

    public static async Task<Results<Ok<SubscribersResponse>, ProblemHttpResult>> SubscribersAsync(
        string accountId, ClaimsPrincipal user, IClusterClient cluster, string? after = null, int limit = 100)
    {
        if (await FindAsync(cluster, accountId) is not { } info || !IsOperator(info, user.UserId()))
        {
            return ApiProblems.NotFound();
        }

        var page = await Account(cluster, accountId).ListSubscribersAsync(after, Math.Clamp(limit, 1, PublicAccountLimits.MaxSubscriberPage));
        return TypedResults.Ok(new SubscribersResponse([.. page], page.Count == Math.Clamp(limit, 1, PublicAccountLimits.MaxSubscriberPage) ? page[^1] : null));
    }

    /// <summary>An operator broadcasts: the same as sending into <c>pub:{accountId}</c>, which only operators may.</summary>
    public static Task<Results<Ok<SendResponse>, ProblemHttpResult>> BroadcastAsync(
        string accountId, BroadcastBody body, ClaimsPrincipal user, IClusterClient cluster, Sessions.UserSendRateLimiter rateLimiter, Metrics.EdgeMetrics metrics)
    {
        ArgumentNullException.ThrowIfNull(body);
        return GrainKeys.IsValidId(accountId)
            ? ConversationsApi.SendAsync(GrainKeys.PublicAccount(accountId), new SendBody(body.ClientMsgId, body.Content), user, cluster, rateLimiter, metrics)
            : Task.FromResult<Results<Ok<SendResponse>, ProblemHttpResult>>(ApiProblems.NotFound());
    }

    /// <summary>
    /// Reach: the account writes one-to-one to each listed subscriber (a personal notice, stored in the user's
    /// conversation with the account). Users who do not subscribe get nothing: an account cannot message strangers.
    /// </summary>
    public static async Task<Results<Ok<ReachResponse>, ProblemHttpResult>> ReachAsync(string accountId, ReachBody body, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        var content = ApiMapper.ToDomain(body.Content);
        var targets = (body.ToUserIds ?? []).Distinct(StringComparer.Ordinal).ToList();
        if (content is null || string.IsNullOrEmpty(body.ClientMsgId) || targets.Count is 0 or > PublicAccountLimits.MaxReachTargets)
        {
            return ApiProblems.Invalid($"clientMsgId, content and 1-{PublicAccountLimits.MaxReachTargets} toUserIds are required");
        }

        if (content.ReplyToSeq is not null)
        {
            // A seq names a message of one conversation: in each subscriber's own, the same number is some other message.
            return ApiProblems.Invalid("a reach goes to many conversations: it cannot reply to a message");
        }

        if (await FindAsync(cluster, accountId) is null)
        {
            return ApiProblems.NotFound();
        }

        var subscribed = (await Account(cluster, accountId).FilterSubscribersAsync(targets)).ToHashSet(StringComparer.Ordinal);
        var results = await PerTargetSends.RunAsync(targets, async userId =>
        {
            if (!subscribed.Contains(userId))
            {
                return new ReachResult(userId, null, "not_subscribed", 0);
            }

            var conversationId = GrainKeys.P2P(accountId, userId);
            var result = await cluster.For<IConversationGrain>(conversationId).SendAsync(new SendRequest(accountId, null, body.ClientMsgId, content));
            var status = result.Status switch
            {
                SendStatus.Sent => "sent",
                SendStatus.Duplicate => "duplicate",
                _ => ApiProblems.From(result).ProblemDetails.Extensions["code"]?.ToString() ?? "invalid_request",
            };
            return new ReachResult(userId, conversationId, status, result.Seq);
        }, userId => new ReachResult(userId, GrainKeys.P2P(accountId, userId), "unavailable", 0));
        return TypedResults.Ok(new ReachResponse(results));
    }

    private static IConversationGrain Account(IClusterClient cluster, string accountId) =>
        cluster.For<IConversationGrain>(GrainKeys.PublicAccount(accountId));

    private static async Task<PublicAccountInfo?> FindAsync(IClusterClient cluster, string accountId) =>
        GrainKeys.IsValidId(accountId) ? await Account(cluster, accountId).GetPublicAccountAsync() : null;

    private static bool IsOperator(PublicAccountInfo info, string userId) =>
        userId == info.AccountId || info.OperatorIds.Contains(userId);

    private static PublicAccountView View(PublicAccountInfo info, bool withOperators) =>
        new(info.AccountId, GrainKeys.PublicAccount(info.AccountId), info.Name, info.SubscriberCount, info.CreatedAt,
            withOperators ? [.. info.OperatorIds] : null);

    private static Results<NoContent, ProblemHttpResult> Done(AccessStatus status) =>
        status == AccessStatus.Ok ? TypedResults.NoContent() : ApiProblems.From(status);
}
