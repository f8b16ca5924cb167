using Orleans.Im.Client;
using Xunit.Abstractions;

namespace Orleans.Im.Tests.Faults;

/// <summary>An edge host of two killed (SIGKILL) under load: its clients reconnect to the other and catch up by sync.</summary>
[Collection(FaultGroup.Name)]
[Trait("Category", "Fault")]
public sealed class EdgeFaultTests(ITestOutputHelper output)
{
    private static readonly TimeSpan Phase = TimeSpan.FromSeconds(4);

    [Fact]
    public async Task An_edge_host_killed_under_load_sends_its_clients_to_the_other_edge_and_they_miss_nothing()
    {
        await using var drill = await FaultDrill.StartAsync("edge-kill-9", output, silos: 2, edges: 2);
        drill.StartLoad();
        Assert.True(await drill.KeepsServingAsync(Phase), "no load before the fault");

        var killed = drill.Edges[0];
        await killed.Process.KillAsync();
        Assert.True(await drill.KeepsServingAsync(Phase), "not served after the edge host died");

        var report = await drill.FinishAsync();
        FaultAssert.Clean(report);

        // Those of the dead edge are on the survivor now, after a reconnect of their own (not a redirect: nobody said goodbye).
        var survivor = $"127.0.0.1:{drill.Edges[1].Endpoints.TcpPort}";
        Assert.All(drill.SdkClients, c => Assert.Equal((survivor, ImClientStatus.Connected), (c.Endpoint, c.Status)));
        Assert.All(drill.SdkClients.Where((_, i) => i % 2 == 0), c => Assert.True(c.ConnectionCount >= 2));
    }
}
