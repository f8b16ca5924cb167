using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Im.Conversations;
using Orleans.Im.Silo;
using Orleans.Im.Silo.OfflinePush;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A one-silo in-process cluster for fast grain tests, shared by every test class in the <c>cluster</c> collection.
/// It runs the production storage wiring (grain state, message log, indexes) on the test PostgreSQL, because storage
/// is the point of most of what grains do; streams are the production in-memory provider.
/// </summary>
public sealed class ClusterFixture : IAsyncLifetime
{
    private readonly Action<ISiloBuilder>? _configureSilo;

    /// <summary>The shared fixture of the <c>cluster</c> collection.</summary>
    public ClusterFixture()
    {
    }

    /// <summary>A cluster of a test's own, its silo configured further by <paramref name="configureSilo"/> (after the rest).</summary>
    internal ClusterFixture(Action<ISiloBuilder> configureSilo) => _configureSilo = configureSilo;

    /// <summary>Groups above this size use read diffusion in the tests (production default: 200).</summary>
    public const int LargeGroupThreshold = 100;

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    /// <summary>The product clock of the silo; tests move it forward to step past windows.</summary>
    public ShiftedTimeProvider Time { get; } = new();

    /// <summary>Broadcasts the tests make fail (the silo's stream queue refuses their events).</summary>
    public StreamFaults StreamFaults { get; } = new();

    /// <summary>Grain calls the tests hold back, to make calls that race arrive in a chosen order.</summary>
    public CallHolds CallHolds { get; } = new();

    /// <summary>Grains whose state the tests make fail (the grain storage refuses them; a user's index saves too).</summary>
    public StorageFaults StorageFaults { get; } = new();

    /// <summary>The operator's push gateway, which the silo sends offline notifications to.</summary>
    public PushGatewayRecorder PushGateway { get; private set; } = null!;

    /// <summary>A service of the (only) silo.</summary>
    public IServiceProvider SiloServices => Cluster.Silos[0].ServiceProvider;

    public async Task InitializeAsync()
    {
        DataSource = await TestServices.GetMigratedDataSourceAsync();
        PushGateway = new PushGatewayRecorder(Time).Start();
        var builder = new InProcessTestClusterBuilder(1);
        // A service id per run: grain state of earlier runs never leaks into this one.
        builder.Options.ServiceId = TestServices.NewClusterId("svc");
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton(DataSource);
            silo.Services.AddSingleton(new ImClock(Time));
            silo.Services.AddImGrains();
            // The real firehose publisher, on the test Redis: cluster tests read the streams back.
            silo.Services.AddImFirehose(o => o.Redis = TestServices.RedisConnectionString);
            silo.Services.Configure<ConversationOptions>(o =>
            {
                o.LargeGroupThreshold = LargeGroupThreshold;
                // The load tests send as fast as acks come back; rate limiting has its own test with its own sender.
                o.SendRatePerSecond = 10_000;
                o.SendBurst = 10_000;
            });
            silo.Services.AddImOfflinePush(new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
            {
                ["IM:Push:GatewayUrl"] = PushGateway.Url,
                ["IM:Push:Secret"] = PushGatewayRecorder.Secret,
                ["IM:Push:FirstRetryDelay"] = "00:00:00.050",
            }).Build());
            silo.AddImStorage();
            // The production grain storage, behind the tests' storage faults.
            var grainStorage = silo.Services.Single(d => d.IsKeyedService && Equals(d.ServiceKey, StorageNames.Grains) && d.ServiceType == typeof(IGrainStorage));
            silo.Services.Remove(grainStorage);
            silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Grains, (services, key) =>
                new FaultyGrainStorage((IGrainStorage)grainStorage.KeyedImplementationFactory!(services, key), StorageFaults));
            silo.Services.AddSingleton<IConversationIndexStore>(services =>
                new FaultyConversationIndexStore(services.GetRequiredService<PostgresConversationIndexStore>(), StorageFaults));
            silo.Services.AddSingleton<IMessageLog>(services =>
                new FaultyMessageLog(services.GetRequiredService<PostgresMessageLog>(), StorageFaults));
            silo.AddMemoryStreams(StreamNames.Provider);
            silo.Services.AddSingleton<IIncomingGrainCallFilter>(StreamFaults);
            silo.Services.AddSingleton<IIncomingGrainCallFilter>(CallHolds);
            _configureSilo?.Invoke(silo);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(StreamNames.Provider));
        Cluster = builder.Build();
        await Cluster.DeployAsync();
    }

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await PushGateway.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class ClusterGroup : ICollectionFixture<ClusterFixture>
{
    public const string Name = "cluster";
}
