using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Im.Silo;
using Orleans.Im.Streams;
using Orleans.TestingHost;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A one-silo in-process cluster whose storage is the production PostgreSQL wiring on the test database:
/// for tests where storage is the point. Shared by the <c>postgres-cluster</c> collection.
/// </summary>
public sealed class PostgresClusterFixture : IAsyncLifetime
{
    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    public async Task InitializeAsync()
    {
        DataSource = await TestServices.GetMigratedDataSourceAsync();
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = TestServices.NewClusterId("svc");
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton(DataSource);
            silo.AddImGrainStorage();
            silo.AddMemoryStreams(StreamNames.Provider);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(StreamNames.Provider));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    /// <summary>A service of the (only) silo.</summary>
    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public async Task DisposeAsync() => await Cluster.DisposeAsync();
}

[CollectionDefinition(Name)]
public sealed class PostgresClusterGroup : ICollectionFixture<PostgresClusterFixture>
{
    public const string Name = "postgres-cluster";
}
