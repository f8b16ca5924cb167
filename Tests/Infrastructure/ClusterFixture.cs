using Orleans.Im.Streams;
using Orleans.TestingHost;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A one-silo in-process cluster for fast grain tests, shared by every test class in the <c>cluster</c>
/// collection. Storage and streams are registered under their production names, in memory.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public async Task InitializeAsync()
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.ConfigureSilo((_, silo) =>
        {
            silo.AddMemoryGrainStorage(StorageNames.Grains);
            silo.AddMemoryGrainStorage(StorageNames.PubSub);
            silo.AddMemoryStreams(StreamNames.Provider);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(StreamNames.Provider));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class ClusterGroup : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
