using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Foundation;

/// <summary>Real silo processes on the real PostgreSQL and Redis.</summary>
[Trait("Category", "Integration")]
public sealed class SiloProcessTests
{
    [Fact]
    public async Task Grain_state_survives_a_killed_and_restarted_silo_process()
    {
        await using var cluster = new SiloCluster("restart");
        var silo = await cluster.StartSiloAsync();
        var client = await cluster.ConnectClientAsync();
        var userId = "restart-" + Guid.NewGuid().ToString("N");
        var profile = new UserProfile("Grace Hopper", "https://example.invalid/grace.png");
        Assert.True(await client.GetGrain<IUserGrain>(userId).SetProfileAsync(profile));

        await silo.Process.KillAsync();
        await cluster.StartSiloAsync(silo.Endpoints);
        var freshClient = await cluster.ConnectClientAsync();

        Assert.Equal(profile, await freshClient.GetGrain<IUserGrain>(userId).GetProfileAsync());
    }

    [Fact]
    public async Task Two_silo_processes_form_one_cluster_and_a_client_reaches_grains_on_both()
    {
        await using var cluster = new SiloCluster("pair");
        await Task.WhenAll(cluster.StartSiloAsync(), cluster.StartSiloAsync());
        var client = await cluster.ConnectClientAsync();
        var management = client.GetGrain<IManagementGrain>(0);

        // Both active before the grains are placed: placement picks among the silos the cluster knows to be active.
        var hosts = await Eventually.ReturnsAsync(() => management.GetHosts(onlyActive: true), h => h.Count == 2);
        Assert.Equal(2, hosts.Count);

        var suffix = Guid.NewGuid().ToString("N");
        var userIds = Enumerable.Range(0, 100).Select(i => $"spread-{i}-{suffix}").ToList();
        await Task.WhenAll(userIds.Select(id => client.GetGrain<IUserGrain>(id).SetProfileAsync(new UserProfile(id, null))));
        foreach (var id in userIds)
        {
            Assert.Equal(id, (await client.GetGrain<IUserGrain>(id).GetProfileAsync())?.DisplayName);
        }

        var wanted = userIds.ToHashSet();
        var statistics = await management.GetDetailedGrainStatistics();
        var hostingSilos = statistics
            .Where(s => wanted.Contains(s.GrainId.Key.ToString()))
            .Select(s => s.SiloAddress)
            .Distinct()
            .ToList();
        Assert.Equal(2, hostingSilos.Count);
    }
}
