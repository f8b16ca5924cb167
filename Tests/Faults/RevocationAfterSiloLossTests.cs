using System.Net;
using System.Net.Http.Json;
using Orleans.Im.Accounts;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// A logout outlives the loss of the silo that served the revocation log: an edge host started afterwards still refuses the logged-out session's
/// unexpired access token. The broadcast that told the running edges is in memory; what a later edge catches up from is
/// recorded in PostgreSQL.
/// </summary>
[Collection(FaultGroup.Name)]
[Trait("Category", "Fault")]
public sealed class RevocationAfterSiloLossTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(30);

    [Fact]
    public async Task An_edge_started_after_the_revocation_logs_silo_was_killed_refuses_a_token_logged_out_before()
    {
        await using var cluster = new SiloCluster("revocations-after-loss");
        var adminKey = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        var settings = new Dictionary<string, string> { ["IM__Auth__AdminApiKey"] = adminKey };
        var silos = await Task.WhenAll(cluster.StartSiloAsync(settings: FaultDrill.SiloSettings), cluster.StartSiloAsync(settings: FaultDrill.SiloSettings));
        var edge = await cluster.StartEdgeAsync(settings);
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{edge.Endpoints.HttpPort}") };
        var alice = Ids.User("alice");
        using (var create = new HttpRequestMessage(HttpMethod.Post, "/api/admin/accounts")
        {
            Content = JsonContent.Create(new CreateAccountBody(alice, alice, ApiCalls.Password, null), options: ApiCalls.Json),
        })
        {
            create.Headers.Add("X-Api-Key", adminKey);
            Assert.Equal(HttpStatusCode.Created, (await http.SendAsync(create)).StatusCode);
        }

        using var loginResponse = await http.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, ApiCalls.Password, "web", "test"), ApiCalls.Json);
        var login = (await loginResponse.Content.ReadFromJsonAsync<TokenResponse>(ApiCalls.Json))!;
        Assert.Equal(HttpStatusCode.NoContent, (await http.CallAsync(HttpMethod.Post, "/api/auth/logout", login.AccessToken)).StatusCode);

        // Announced (and so recorded, which comes first) before the silo goes.
        var orleans = await cluster.ConnectClientAsync();
        await Eventually.UntilAsync(
            () => orleans.GetGrain<IRevocationLogGrain>(IRevocationLogGrain.Key).GetSinceAsync(DateTimeOffset.UtcNow.AddMinutes(-5)),
            kept => kept.Any(r => r.UserId == alice && r.SessionId == login.SessionId), Patience);

        // Lose the silo that holds the revocation log (with both up, either may).
        var statistics = await orleans.GetGrain<IManagementGrain>(0).GetDetailedGrainStatistics();
        var logsSilo = statistics.Single(s => s.GrainId.Type.ToString() == "revocationlog").SiloAddress;
        var victim = silos.Single(s => s.Endpoints.SiloPort == logsSilo.Endpoint.Port);
        output.WriteLine($"the revocation log on {logsSilo}; killing it, then starting a new edge host");
        await victim.Process.KillAsync();
        var lateEdge = await cluster.StartEdgeAsync(settings);
        using var there = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{lateEdge.Endpoints.HttpPort}") };

        // The token has not expired, yet the new edge, which never heard the broadcast, refuses it.
        Assert.Equal(HttpStatusCode.Unauthorized, (await there.CallAsync(HttpMethod.Get, "/api/sync", login.AccessToken)).StatusCode);

        // And a new login is taken there.
        using var again = await there.PostAsJsonAsync("/api/auth/login", new LoginBody(alice, ApiCalls.Password, "web", "test"), ApiCalls.Json);
        var renewed = (await again.Content.ReadFromJsonAsync<TokenResponse>(ApiCalls.Json))!;
        Assert.Equal(HttpStatusCode.OK, (await there.CallAsync(HttpMethod.Get, "/api/sync", renewed.AccessToken)).StatusCode);
    }
}
