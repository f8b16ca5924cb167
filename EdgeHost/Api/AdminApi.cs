using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Messages;
using Orleans.Im.Stats;

namespace Orleans.Im.EdgeHost.Api;

/// <summary><c>/api/admin</c> (API key): create, disable, enable and kick accounts of every role; cluster stats.</summary>
public static class AdminApi
{
    public static RouteGroupBuilder MapAdminApi(this IEndpointRouteBuilder app)
    {
        var api = app.MapGroup("/api/admin").RequireAuthorization(ApiPolicies.TrustedSystem).WithTags("Admin");
        api.MapPost("/accounts", CreateAccountAsync);
        api.MapPost("/accounts/{userId}/disable", (string userId, IClusterClient cluster) => SetDisabledAsync(userId, true, cluster));
        api.MapPost("/accounts/{userId}/enable", (string userId, IClusterClient cluster) => SetDisabledAsync(userId, false, cluster));
        api.MapPost("/accounts/{userId}/kick", KickAsync);
        api.MapPut("/accounts/{userId}/password", ResetPasswordAsync);
        api.MapPost("/shops", CreateShopAsync);
        api.MapPut("/shops/{shopId}/agents", async Task<Results<NoContent, ProblemHttpResult>> (string shopId, AgentsBody body, IClusterClient cluster) =>
        {
            var status = GrainKeys.IsValidUserId(shopId)
                ? await cluster.For<IAccountGrain>(shopId).SetAgentsAsync(body?.AgentIds ?? [])
                : AccessStatus.NotFound;
            return status == AccessStatus.Ok ? TypedResults.NoContent() : ApiProblems.From(status);
        });
        api.MapGet("/shops/{shopId}/agents", async (string shopId, IClusterClient cluster) =>
            TypedResults.Ok(GrainKeys.IsValidUserId(shopId) ? await cluster.For<IAccountGrain>(shopId).GetAgentsAsync() : []));
        api.MapGet("/stats", async (IClusterClient cluster) =>
            TypedResults.Ok(await cluster.For<IClusterStatsGrain>(IClusterStatsGrain.DefaultKey).GetAsync()));
        return api;
    }

    public static async Task<Results<Created, ProblemHttpResult>> CreateAccountAsync(CreateAccountBody body, IClusterClient cluster, PasswordHashing passwords)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!GrainKeys.IsValidUserId(body.UserId))
        {
            return ApiProblems.Invalid("userId must be 1-64 of A-Z a-z 0-9 - _ .");
        }

        if (body.Password is not null && AccountApi.InvalidPassword(body.Password) is { } invalid)
        {
            return invalid;
        }

        // Accounts without a password (shops, robots driven by API key or grain client) cannot log in over HTTP.
        var hash = body.Password is null ? null : passwords.Hash(body.Password);
        var roles = body.Roles is { Count: > 0 } given ? given : [AccountRole.User];
        var status = await cluster.For<IAccountGrain>(body.UserId).CreateAsync(new NewAccount(body.DisplayName ?? "", hash, roles));
        return status == AccessStatus.Ok ? TypedResults.Created($"/api/users/{body.UserId}/profile") : ApiProblems.From(status);
    }

    /// <summary>Creates a shop account (no password: nobody logs in as a shop) with its agents, which must exist as agent accounts.</summary>
    public static async Task<Results<Created, ProblemHttpResult>> CreateShopAsync(CreateShopBody body, IClusterClient cluster)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (!GrainKeys.IsValidUserId(body.ShopId))
        {
            return ApiProblems.Invalid("shopId must be 1-64 of A-Z a-z 0-9 - _ .");
        }

        var shop = cluster.For<IAccountGrain>(body.ShopId);
        var created = await shop.CreateAsync(new NewAccount(body.DisplayName ?? "", null, [AccountRole.Shop]));
        if (created == AccessStatus.Conflict && await IsRetryOfCreateAsync(shop, body.AgentIds ?? []))
        {
            // A retry: the shop exists without agents (a call refused for a wrong agent id left it so) or with these (a
            // call whose answer was lost). Before, the retry of the refused call answered 409 and the shop stayed without
            // any. A shop that has other agents is another's, or was changed since: 409, its agents untouched.
            created = AccessStatus.Ok;
        }

        if (created != AccessStatus.Ok)
        {
            return ApiProblems.From(created);
        }

        var agents = await shop.SetAgentsAsync(body.AgentIds ?? []);
        return agents == AccessStatus.Ok
            ? TypedResults.Created($"/api/admin/shops/{body.ShopId}/agents")
            : ApiProblems.Invalid("every agent must be an existing agent account (the shop was created without agents)");
    }

    private static async Task<bool> IsRetryOfCreateAsync(IAccountGrain shop, IReadOnlyCollection<string> agentIds)
    {
        if (await shop.GetCredentialsAsync() is not { } existing || !existing.Roles.Contains(AccountRole.Shop))
        {
            return false;
        }

        var agents = await shop.GetAgentsAsync();
        return agents.Count == 0 || agents.ToHashSet(StringComparer.Ordinal).SetEquals(agentIds);
    }

    /// <summary>Ends every session of the account: all its devices are disconnected and must log in again.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> KickAsync(string userId, IClusterClient cluster) =>
        GrainKeys.IsValidUserId(userId) && await cluster.For<IAccountGrain>(userId).EndAllSessionsAsync()
            ? TypedResults.NoContent()
            : ApiProblems.NoSuchAccount();

    /// <summary>Sets an account's password (a user who forgot theirs) and ends all its sessions.</summary>
    public static async Task<Results<NoContent, ProblemHttpResult>> ResetPasswordAsync(
        string userId, PasswordResetBody body, IClusterClient cluster, PasswordHashing passwords)
    {
        ArgumentNullException.ThrowIfNull(body);
        if (AccountApi.InvalidPassword(body.Password) is { } invalid)
        {
            return invalid;
        }

        return GrainKeys.IsValidUserId(userId) && await cluster.For<IAccountGrain>(userId).SetPasswordAsync(passwords.Hash(body.Password), keepSessionId: null)
            ? TypedResults.NoContent()
            : ApiProblems.NoSuchAccount();
    }

    private static async Task<Results<NoContent, ProblemHttpResult>> SetDisabledAsync(string userId, bool disabled, IClusterClient cluster) =>
        GrainKeys.IsValidUserId(userId) && await cluster.For<IAccountGrain>(userId).SetDisabledAsync(disabled)
            ? TypedResults.NoContent()
            : ApiProblems.NoSuchAccount();
}
