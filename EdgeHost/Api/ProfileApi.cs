using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Accounts;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api;

/// <summary><c>/api/me</c> and <c>/api/users</c>: profiles and the blocklist.</summary>
public static class ProfileApi
{
    public static RouteGroupBuilder MapProfileApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api").RequireAuthorization(ApiPolicies.User).WithTags("Profile");
        api.MapGet("/me/profile", async (ClaimsPrincipal user, IClusterClient cluster) =>
            await cluster.GetGrain<IUserGrain>(user.UserId()).GetProfileAsync() is { } profile
                ? (Results<Ok<UserProfile>, ProblemHttpResult>)TypedResults.Ok(profile)
                : ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No profile yet."));
        api.MapPut("/me/profile", async Task<Results<Ok<UserProfile>, ProblemHttpResult>> (UserProfile body, ClaimsPrincipal user, IClusterClient cluster) =>
            body is not null && await cluster.GetGrain<IUserGrain>(user.UserId()).SetProfileAsync(body)
                ? TypedResults.Ok(body)
                : ApiProblems.Invalid($"displayName is 1-{UserProfile.MaxDisplayNameLength} characters, avatarUrl at most {UserProfile.MaxAvatarUrlLength}."));
        api.MapGet("/users/{userId}/profile", async Task<Results<Ok<UserProfile>, ProblemHttpResult>> (string userId, IClusterClient cluster) =>
            GrainKeys.IsValidUserId(userId) && await cluster.GetGrain<IUserGrain>(userId).GetProfileAsync() is { } profile
                ? TypedResults.Ok(profile)
                : ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No such user."));
        api.MapGet("/me/blocked", async (ClaimsPrincipal user, IClusterClient cluster) =>
            TypedResults.Ok(await cluster.GetGrain<IAccountGrain>(user.UserId()).GetBlockedAsync()));
        api.MapPut("/me/blocked/{userId}", async Task<Results<NoContent, ProblemHttpResult>> (string userId, ClaimsPrincipal user, IClusterClient cluster) =>
            await cluster.GetGrain<IAccountGrain>(user.UserId()).BlockAsync(userId)
                ? TypedResults.NoContent()
                : ApiProblems.Invalid("Cannot block that user."));
        api.MapDelete("/me/blocked/{userId}", async (string userId, ClaimsPrincipal user, IClusterClient cluster) =>
        {
            await cluster.GetGrain<IAccountGrain>(user.UserId()).UnblockAsync(userId);
            return TypedResults.NoContent();
        });
        return api;
    }
}
