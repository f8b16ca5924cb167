using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Conversations;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Groups;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// <c>/api/groups</c>: create groups, manage members, roles, the name, the announcement and whether new members read earlier
/// history. Ids are <c>grp:…</c> conversation ids.
/// </summary>
public static class GroupsApi
{
    public static RouteGroupBuilder MapGroupsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/groups").RequireAuthorization(ApiPolicies.User).WithTags("Groups");
        api.MapPost("/", CreateAsync);
        api.MapGet("/", ListAsync);
        api.MapGet("/{conversationId}", (string conversationId, ClaimsPrincipal user, IClusterClient cluster) =>
            GroupAsync(cluster, conversationId, g => g.GetGroupAsync(user.UserId())));
        api.MapGet("/{conversationId}/members", MembersAsync);
        api.MapPost("/{conversationId}/members", AddMembersAsync);
        api.MapDelete("/{conversationId}/members/{userId}", (string conversationId, string userId, ClaimsPrincipal user, IClusterClient cluster) =>
            GroupAsync(cluster, conversationId, g => g.RemoveMemberAsync(user.UserId(), userId)));
        api.MapPut("/{conversationId}/members/{userId}/role", (string conversationId, string userId, RoleBody body, ClaimsPrincipal user, IClusterClient cluster) =>
            // A body without a role is a mistake, not "member": taken as that, it demoted an admin and told the group.
            body?.Role is { } role
                ? GroupAsync(cluster, conversationId, g => g.SetRoleAsync(user.UserId(), userId, role))
                : Task.FromResult<Results<Ok<GroupInfo>, ProblemHttpResult>>(ApiProblems.Invalid("role is required: member, admin or owner")));
        api.MapPost("/{conversationId}/leave", (string conversationId, ClaimsPrincipal user, IClusterClient cluster) =>
            GroupAsync(cluster, conversationId, g => g.LeaveAsync(user.UserId())));
        api.MapPut("/{conversationId}/name", (string conversationId, GroupNameBody body, ClaimsPrincipal user, IClusterClient cluster) =>
            GroupAsync(cluster, conversationId, g => g.RenameGroupAsync(user.UserId(), body?.Name ?? "")));
        api.MapPut("/{conversationId}/announcement", (string conversationId, AnnouncementBody body, ClaimsPrincipal user, IClusterClient cluster) =>
            GroupAsync(cluster, conversationId, g => g.SetAnnouncementAsync(user.UserId(), body?.Text)));
        api.MapPut("/{conversationId}/history", SetHistoryAsync);
        api.MapPost("/{conversationId}/dissolve", (string conversationId, ClaimsPrincipal user, IClusterClient cluster) =>
            GroupAsync(cluster, conversationId, g => g.DissolveGroupAsync(user.UserId())));
        return api;
    }

    /// <summary>The longest request id a group creation may carry.</summary>
    public const int MaxRequestIdLength = 64;

    public static async Task<Results<Created<GroupChangeView>, ProblemHttpResult>> CreateAsync(CreateGroupBody body, ClaimsPrincipal user, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (body.RequestId is { } requestId && (requestId.Length is 0 or > MaxRequestIdLength || !requestId.All(c => c is > ' ' and <= '~')))
        {
            return ApiProblems.Invalid($"requestId: 1-{MaxRequestIdLength} printable ASCII characters");
        }

        var conversationId = body.RequestId is { } retried ? GrainKeys.GroupOfRequest(user.UserId(), retried) : GrainKeys.NewGroup();
        var result = await cluster.For<IConversationGrain>(conversationId)
            .CreateGroupAsync(new CreateGroupRequest(user.UserId(), body.Name ?? "", body.MemberIds ?? [], body.HidesHistoryFromNewMembers));
        return result.Status == AccessStatus.Ok && result.Group is { } group
            ? TypedResults.Created($"/api/groups/{Uri.EscapeDataString(conversationId)}", GroupChangeView.From(group, result.NotAdded))
            : result.Status switch
            {
                AccessStatus.Invalid => ApiProblems.Invalid(result.Error ?? "could not create the group"),
                // A request id whose group exists with another owner: retrying cannot help.
                AccessStatus.Conflict => ApiProblems.Problem(StatusCodes.Status409Conflict, "conflict", result.Error ?? "the group exists"),
                AccessStatus.Ok or AccessStatus.Unavailable => ApiProblems.Problem(StatusCodes.Status503ServiceUnavailable, "unavailable", result.Error ?? "could not create the group"),
                var refused => ApiProblems.From(refused),
            };
    }

    /// <summary>
    /// Group calls one listing makes at a time: a user can be put into any number of groups by others, and one request
    /// must not send hundreds of calls into the cluster at once (at the request budget, one user could make tens of
    /// thousands a second).
    /// </summary>
    private const int ListParallelism = 16;

    /// <summary>Groups one listing answers by default, and at most: each is a grain call.</summary>
    public const int MaxGroupsPage = 200;

    /// <summary>
    /// The caller's groups, as members see them (the conversation entries come with <c>/api/sync</c>), in conversation id
    /// order, a page at a time: up to <paramref name="limit"/> (at most <see cref="MaxGroupsPage"/>) after the id
    /// <paramref name="after"/>. When more follow, a <c>Link</c> header (<c>rel="next"</c>) gives the next page's address
    /// (a page may hold fewer groups than asked, when a group in it is gone). Paged because anyone may put a user into any
    /// number of groups, and a listing of them all would be one request asking thousands of grains.
    /// </summary>
    public static async Task<Ok<List<GroupInfo>>> ListAsync(ClaimsPrincipal user, IClusterClient cluster, HttpResponse response,
        CancellationToken cancellationToken, string? after = null, int limit = MaxGroupsPage)
    {
        var userId = user.UserId();
        var take = Math.Clamp(limit, 1, MaxGroupsPage);
        var entries = await cluster.For<Users.IUserGrain>(userId).SyncAsync(0);
        var following = entries.Changed
            .Where(e => e.Kind == ConversationKind.Group && !e.Removed
                && (after is null || string.CompareOrdinal(e.ConversationId, after) > 0))
            .OrderBy(e => e.ConversationId, StringComparer.Ordinal)
            .Take(take + 1)
            .ToList();
        var page = following.Take(take).ToList();
        if (following.Count > take)
        {
            response.Headers.Link = $"</api/groups?after={Uri.EscapeDataString(page[^1].ConversationId)}&limit={take}>; rel=\"next\"";
        }

        var groups = new System.Collections.Concurrent.ConcurrentBag<GroupInfo>();
        await Parallel.ForEachAsync(page,
            new ParallelOptions { MaxDegreeOfParallelism = ListParallelism, CancellationToken = cancellationToken },
            async (entry, _) =>
            {
                if (await cluster.For<IConversationGrain>(entry.ConversationId).GetGroupAsync(userId) is { Status: AccessStatus.Ok, Group: { } group })
                {
                    groups.Add(group);
                }
            });
        return TypedResults.Ok(groups.OrderBy(g => g.ConversationId, StringComparer.Ordinal).ToList());
    }

    public static async Task<Results<Ok<IReadOnlyList<GroupMember>>, ProblemHttpResult>> MembersAsync(string conversationId, ClaimsPrincipal user, IClusterClient cluster)
    {
        if (!IsGroupId(conversationId))
        {
            return ApiProblems.NotFound();
        }

        var (status, members) = await cluster.For<IConversationGrain>(conversationId).GetMembersAsync(user.UserId());
        return status == AccessStatus.Ok ? TypedResults.Ok(members) : ApiProblems.From(status);
    }

    /// <summary>Adds members (admins and the owner); the answer names those left out because they let only friends add them.</summary>
    public static Task<Results<Ok<GroupChangeView>, ProblemHttpResult>> AddMembersAsync(string conversationId, MembersBody body, ClaimsPrincipal user, IClusterClient cluster) =>
        GroupAsync(cluster, conversationId, g => g.AddMembersAsync(user.UserId(), body?.UserIds ?? []), (result, group) => GroupChangeView.From(group, result.NotAdded));

    /// <summary>Whether members added from now on read earlier history (admins and the owner); the body must say which.</summary>
    public static async Task<Results<Ok<GroupInfo>, ProblemHttpResult>> SetHistoryAsync(string conversationId, HistorySettingBody? body, ClaimsPrincipal user, IClusterClient cluster) =>
        body?.HidesHistoryFromNewMembers is { } hides
            ? await GroupAsync(cluster, conversationId, g => g.SetHistoryHiddenFromNewMembersAsync(user.UserId(), hides))
            : ApiProblems.Invalid("hidesHistoryFromNewMembers: true or false");

    private static Task<Results<Ok<GroupInfo>, ProblemHttpResult>> GroupAsync(IClusterClient cluster, string conversationId, Func<IConversationGrain, Task<GroupResult>> operation) =>
        GroupAsync(cluster, conversationId, operation, (_, group) => group);

    /// <summary>Runs a group operation on a group id and answers the group as <paramref name="view"/> shows it, or the refusal.</summary>
    private static async Task<Results<Ok<T>, ProblemHttpResult>> GroupAsync<T>(IClusterClient cluster, string conversationId,
        Func<IConversationGrain, Task<GroupResult>> operation, Func<GroupResult, GroupInfo, T> view)
    {
        if (!IsGroupId(conversationId))
        {
            return ApiProblems.NotFound();
        }

        var result = await operation(cluster.For<IConversationGrain>(conversationId));
        return result.Status == AccessStatus.Ok && result.Group is { } group ? TypedResults.Ok(view(result, group)) : ApiProblems.From(result.Status);
    }

    private static bool IsGroupId(string conversationId) =>
        GrainKeys.TryParseConversation(conversationId, out var address) && address.Kind == ConversationKind.Group;
}
