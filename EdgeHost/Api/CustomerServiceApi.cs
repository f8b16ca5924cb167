using System.Security.Claims;
using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.CustomerService;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// Customer service over HTTP. <c>/api/cs/{shopId}</c> (access token): agents go available, read their console view,
/// transfer and close sessions; users rate a closed session. <c>/api/admin/shops/{shopId}/customer-service</c> (API key):
/// the queue's snapshot and the shop's settings, changeable at runtime. Messaging itself goes through the conversation
/// <c>cs:{shop}:{user}</c> like any other.
/// </summary>
public static class CustomerServiceApi
{
    public static IEndpointRouteBuilder MapCustomerServiceApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/cs/{shopId}").RequireAuthorization(ApiPolicies.User).WithTags("Customer service");
        api.MapGet("/agent", async Task<Results<Ok<AgentView>, ProblemHttpResult>> (string shopId, ClaimsPrincipal user, IClusterClient cluster) =>
            GrainKeys.IsValidId(shopId) && await Queue(cluster, shopId).GetAgentViewAsync(user.UserId()) is { } view
                ? TypedResults.Ok(view)
                : ApiProblems.NotFound());
        api.MapPut("/agent/available/{available:bool}", (string shopId, bool available, ClaimsPrincipal user, IClusterClient cluster) =>
            RunAsync(shopId, q => q.SetAgentAvailableAsync(user.UserId(), available), cluster));
        // ?sessionId= (the id the agent view lists) acts on that session only: 404 once it has closed, even when the user
        // has opened another since, which a close or transfer meant for the old one must not reach.
        api.MapPost("/sessions/{userId}/transfer", (string shopId, string userId, string? sessionId, TransferBody body, ClaimsPrincipal user, IClusterClient cluster) =>
            RunAsync(shopId, q => q.TransferAsync(user.UserId(), userId, string.IsNullOrEmpty(body?.ToAgentId) ? null : body.ToAgentId, sessionId), cluster));
        api.MapPost("/sessions/{userId}/close", (string shopId, string userId, string? sessionId, ClaimsPrincipal user, IClusterClient cluster) =>
            RunAsync(shopId, q => q.CloseAsync(user.UserId(), userId, sessionId), cluster));
        api.MapPost("/rating", (string shopId, RateBody body, ClaimsPrincipal user, IClusterClient cluster) =>
            RunAsync(shopId, q => q.RateAsync(user.UserId(), body?.Score ?? 0), cluster));

        var admin = app.MapGroup("/api/admin/shops/{shopId}/customer-service").RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("Admin");
        admin.MapGet("/", async Task<Results<Ok<QueueSnapshot>, ProblemHttpResult>> (string shopId, IClusterClient cluster) =>
            GrainKeys.IsValidId(shopId) ? TypedResults.Ok(await Queue(cluster, shopId).GetSnapshotAsync()) : ApiProblems.NotFound());
        admin.MapGet("/settings", async Task<Results<Ok<CustomerServiceSettings>, ProblemHttpResult>> (string shopId, IClusterClient cluster) =>
            GrainKeys.IsValidId(shopId) ? TypedResults.Ok(await Queue(cluster, shopId).GetSettingsAsync()) : ApiProblems.NotFound());
        admin.MapPut("/settings", (string shopId, CustomerServiceSettings body, IClusterClient cluster) =>
            body is null ? Task.FromResult<Results<NoContent, ProblemHttpResult>>(ApiProblems.Invalid("settings are required"))
            : RunAsync(shopId, q => q.SetSettingsAsync(body), cluster));
        admin.MapPut("/agents/{agentId}/max-sessions", (string shopId, string agentId, AgentMaxSessionsBody body, IClusterClient cluster) =>
            RunAsync(shopId, q => q.SetAgentMaxSessionsAsync(agentId, body?.MaxSessions), cluster));
        return app;
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> RunAsync(string shopId, Func<ICustomerServiceQueueGrain, Task<AccessStatus>> operation, IClusterClient cluster)
    {
        var status = GrainKeys.IsValidId(shopId) ? await operation(Queue(cluster, shopId)) : AccessStatus.NotFound;
        return status == AccessStatus.Ok ? TypedResults.NoContent() : ApiProblems.From(status);
    }

    private static ICustomerServiceQueueGrain Queue(IClusterClient cluster, string shopId) => cluster.For<ICustomerServiceQueueGrain>(shopId);
}
