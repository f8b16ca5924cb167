using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Contacts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// <c>/api/friends</c>: friend requests and the friend list. <c>GET /api/friends?updatedAfter=</c> takes the
/// <c>version</c> of the previous answer and returns exactly what changed since (removals with state <c>none</c>).
/// </summary>
public static class FriendsApi
{
    public static RouteGroupBuilder MapFriendsApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/friends").RequireAuthorization(ApiPolicies.User).WithTags("Friends");
        api.MapGet("/", async (ClaimsPrincipal user, IClusterClient cluster, long updatedAfter = 0) =>
            TypedResults.Ok(await Contacts(cluster, user).GetChangesAsync(updatedAfter)));
        api.MapPost("/{userId}/request", async Task<Results<NoContent, ProblemHttpResult>> (string userId, FriendRequestBody? body, ClaimsPrincipal user, IClusterClient cluster) =>
            await Contacts(cluster, user).RequestAsync(userId, body?.Message) switch
            {
                AccessStatus.NotFound => ApiProblems.NoSuchAccount(),
                AccessStatus.Invalid => ApiProblems.Invalid(
                    $"a friend request needs another user's valid id, a message of at most {IContactsGrain.MaxRequestMessageLength} characters, "
                    + $"and room: at most {IContactsGrain.MaxContacts} contacts each, and {IContactsGrain.MaxIncomingRequests} requests waiting for the one asked"),
                var status => Answer(status),
            });
        api.MapPost("/{userId}/accept", async Task<Results<NoContent, ProblemHttpResult>> (string userId, ClaimsPrincipal user, IClusterClient cluster) =>
            await Contacts(cluster, user).AcceptAsync(userId) switch
            {
                AccessStatus.NotFound => ApiProblems.Problem(StatusCodes.Status404NotFound, "not_found", "No friend request from that user."),
                AccessStatus.Invalid => ApiProblems.Invalid($"your contact list is full (at most {IContactsGrain.MaxContacts} contacts)"),
                var status => Answer(status),
            });
        api.MapDelete("/{userId}", async (string userId, ClaimsPrincipal user, IClusterClient cluster) =>
        {
            await Contacts(cluster, user).RemoveAsync(userId);
            return TypedResults.NoContent();
        });
        return api;
    }

    private static IContactsGrain Contacts(IClusterClient cluster, ClaimsPrincipal user) => cluster.For<IContactsGrain>(user.UserId());

    private static Results<NoContent, ProblemHttpResult> Answer(AccessStatus status) =>
        status == AccessStatus.Ok ? TypedResults.NoContent() : ApiProblems.From(status);
}
