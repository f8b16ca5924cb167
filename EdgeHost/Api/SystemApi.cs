using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// <c>/api/system/messages</c> (API key): other systems send as a system or robot account — into a conversation the
/// account is in, or one-to-one to each of a list of users (notices, targeted pushes).
/// </summary>
public static class SystemApi
{
    /// <summary>The most users one targeted send may reach.</summary>
    public const int MaxTargets = 1000;

    public static RouteGroupBuilder MapSystemApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/system").RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("System");
        api.MapPost("/messages", SendAsync);
        return api;
    }

    public static async Task<Results<Ok<SystemSendResponse>, ProblemHttpResult>> SendAsync(SystemSendBody body, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!GrainKeys.IsValidUserId(body.FromUserId)
            || await cluster.For<IAccountGrain>(body.FromUserId).GetCredentialsAsync() is not { Disabled: false } sender
            || !sender.Roles.Any(r => r is AccountRole.System or AccountRole.Robot))
        {
            return ApiProblems.Problem(StatusCodes.Status403Forbidden, "not_allowed", "fromUserId must be an enabled system or robot account.");
        }

        var content = ApiMapper.ToDomain(body.Content);
        var targets = body.ConversationId is { } single
            ? [single]
            : (body.ToUserIds ?? []).Distinct(StringComparer.Ordinal).Where(u => u != body.FromUserId).ToList();
        if (content is null || targets.Count is 0 or > MaxTargets || string.IsNullOrEmpty(body.ClientMsgId))
        {
            return ApiProblems.Invalid($"clientMsgId, content and a conversationId or 1-{MaxTargets} toUserIds are required");
        }

        if (content.ReplyToSeq is not null && body.ConversationId is null)
        {
            // A seq names a message of one conversation: in each target's own, the same number is some other message.
            return ApiProblems.Invalid("replyToSeq names a message of one conversation: send a reply with conversationId");
        }

        // A few at a time, each answered on its own (PerTargetSends): a thousand at once timed out together on the
        // sender's user grain, and one timeout answered the whole call 503.
        var results = await PerTargetSends.RunAsync(targets, async target =>
        {
            var conversationId = ConversationOf(body, target);
            if (!GrainKeys.TryParseConversation(conversationId, out _))
            {
                return new SystemSendResult(conversationId, SendStatus.NoAccess, 0, "no such conversation");
            }

            // The same clientMsgId per target conversation: a retry of the whole call stores nothing twice.
            var result = await cluster.For<IConversationGrain>(conversationId).SendAsync(
                new SendRequest(body.FromUserId, null, body.ClientMsgId, content, body.Class ?? MessageClass.Persistent, CollapseKeyOf(body)));
            return new SystemSendResult(conversationId, result.Status, result.Seq, result.Error);
        }, target => new SystemSendResult(ConversationOf(body, target), SendStatus.Unavailable, 0, "unavailable"));
        return TypedResults.Ok(new SystemSendResponse(results));
    }

    private static string ConversationOf(SystemSendBody body, string target) =>
        body.ConversationId ?? (GrainKeys.IsValidUserId(target) ? GrainKeys.P2P(body.FromUserId, target) : target);

    /// <summary>An empty collapse key is none, as on the long connections (it was refused here as a notification's).</summary>
    private static string? CollapseKeyOf(SystemSendBody body) => string.IsNullOrEmpty(body.CollapseKey) ? null : body.CollapseKey;
}
