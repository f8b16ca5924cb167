using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api;

/// <summary><c>/api/me</c>, <c>/api/users</c> and <c>/api/presence</c>: profiles, the blocklist, privacy settings, presence.</summary>
public static class ProfileApi
{
    /// <summary>The most users one presence query may ask about.</summary>
    public const int MaxPresenceQuery = 200;

    public static RouteGroupBuilder MapProfileApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(ApiPolicies.User).WithTags("Profile");
        api.MapGet("/me/profile", async (ClaimsPrincipal user, IClusterClient cluster) =>
            await cluster.For<IUserGrain>(user.UserId()).GetProfileAsync() is { } profile
                ? (Results<Ok<UserProfile>, ProblemHttpResult>)TypedResults.Ok(profile)
                : ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No profile yet."));
        api.MapPut("/me/profile", async Task<Results<Ok<UserProfile>, ProblemHttpResult>> (UserProfile body, ClaimsPrincipal user, IClusterClient cluster) =>
            body is not null && await cluster.For<IUserGrain>(user.UserId()).SetProfileAsync(body)
                ? TypedResults.Ok(body)
                : ApiProblems.Invalid($"displayName is 1-{UserProfile.MaxDisplayNameLength} characters, avatarUrl at most {UserProfile.MaxAvatarUrlLength}."));
        api.MapGet("/users/{userId}/profile", async Task<Results<Ok<UserProfile>, ProblemHttpResult>> (string userId, IClusterClient cluster) =>
            GrainKeys.IsValidUserId(userId) && await cluster.For<IUserGrain>(userId).GetProfileAsync() is { } profile
                ? TypedResults.Ok(profile)
                : ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No such user."));
        api.MapGet("/presence", async (string userIds, ClaimsPrincipal user, IClusterClient cluster) =>
        {
            var asker = user.UserId();
            var ids = userIds.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
                .Where(GrainKeys.IsValidUserId).Distinct(StringComparer.Ordinal).Take(MaxPresenceQuery);
            var presences = await Task.WhenAll(ids.Select(id => cluster.For<IUserGrain>(id).GetPresenceForAsync(asker)));
            // Devices are the user's own business, here too: the grain gives them to the user alone, and this answer is
            // status and last seen.
            return TypedResults.Ok(presences.Select(p => p with { Devices = [] }).ToList());
        });
        api.MapPut("/me/settings/share-presence/{share:bool}", async (bool share, ClaimsPrincipal user, IClusterClient cluster) =>
        {
            await cluster.For<IUserGrain>(user.UserId()).SetSharePresenceAsync(share);
            return TypedResults.NoContent();
        });
        api.MapGet("/me/settings/group-adds", async (ClaimsPrincipal user, IClusterClient cluster) =>
            TypedResults.Ok(new GroupAddsBody(await cluster.For<IAccountGrain>(user.UserId()).GetGroupAddPolicyAsync())));
        api.MapPut("/me/settings/group-adds", async Task<Results<NoContent, ProblemHttpResult>> (GroupAddsBody body, ClaimsPrincipal user, IClusterClient cluster) =>
        {
            if (body?.GroupAdds is not { } policy || !Enum.IsDefined(policy))
            {
                return ApiProblems.Invalid("groupAdds: everyone or contacts");
            }

            await cluster.For<IAccountGrain>(user.UserId()).SetGroupAddPolicyAsync(policy);
            return TypedResults.NoContent();
        });
        api.MapGet("/me/blocked", async (ClaimsPrincipal user, IClusterClient cluster) =>
            TypedResults.Ok(await cluster.For<IAccountGrain>(user.UserId()).GetBlockedAsync()));
        api.MapPut("/me/blocked/{userId}", async Task<Results<NoContent, ProblemHttpResult>> (string userId, ClaimsPrincipal user, IClusterClient cluster) =>
            await cluster.For<IAccountGrain>(user.UserId()).BlockAsync(userId)
                ? TypedResults.NoContent()
                : ApiProblems.Invalid("Cannot block that user."));
        api.MapDelete("/me/blocked/{userId}", async (string userId, ClaimsPrincipal user, IClusterClient cluster) =>
        {
            await cluster.For<IAccountGrain>(user.UserId()).UnblockAsync(userId);
            return TypedResults.NoContent();
        });
        return api;
    }
}
