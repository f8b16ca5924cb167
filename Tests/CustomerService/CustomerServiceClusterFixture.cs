using Microsoft.Extensions.DependencyInjection;
using Npgsql;
using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.Silo;
using Orleans.Im.Streams;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using Orleans.Storage;
using Orleans.TestingHost;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>
/// A one-silo in-process cluster for the customer-service tests: the production storage wiring (grain state, message
/// log, indexes, the PostgreSQL reminder table) on the test PostgreSQL, with a short offline grace and a timeout check
/// every second, so that presence and timeouts can be tested in seconds. Timeouts themselves stay long unless a test
/// sets them short on its own shop.
/// </summary>
public sealed class CustomerServiceClusterFixture : IAsyncLifetime
{
    /// <summary>How long an agent whose last device left still counts as online.</summary>
    public static readonly TimeSpan PresenceGrace = TimeSpan.FromMilliseconds(300);

    /// <summary>How often the queue checks its timeouts.</summary>
    public static readonly TimeSpan TimeoutCheckPeriod = TimeSpan.FromSeconds(1);

    public InProcessTestCluster Cluster { get; private set; } = null!;

    public IClusterClient Client => Cluster.Client;

    public NpgsqlDataSource DataSource { get; private set; } = null!;

    /// <summary>Grains whose state the tests make fail (the grain storage refuses them).</summary>
    public StorageFaults StorageFaults { get; } = new();

    public async Task InitializeAsync()
    {
        DataSource = await TestServices.GetMigratedDataSourceAsync();
        Cluster = await StartAsync(DataSource, TestServices.NewClusterId("cs-svc"), faults: StorageFaults);
    }

    public async Task DisposeAsync() => await Cluster.DisposeAsync();

    /// <summary>
    /// Starts a cluster under <paramref name="serviceId"/>: the same id again sees the same grain state and reminders.
    /// <paramref name="configure"/> changes the customer-service options further (say, a short rating window).
    /// </summary>
    public static async Task<InProcessTestCluster> StartAsync(NpgsqlDataSource dataSource, string serviceId, Action<CustomerServiceOptions>? configure = null, StorageFaults? faults = null)
    {
        var builder = new InProcessTestClusterBuilder(1);
        builder.Options.ServiceId = serviceId;
        builder.ConfigureSilo((_, silo) =>
        {
            silo.Services.AddSingleton(dataSource);
            silo.Services.AddImGrains();
            silo.Services.AddImFirehose(o => o.Redis = TestServices.RedisConnectionString);
            silo.Services.Configure<UserOptions>(o => o.PresenceGrace = PresenceGrace);
            silo.Services.Configure<CustomerServiceOptions>(o =>
            {
                o.TimeoutCheckPeriod = TimeoutCheckPeriod;
                configure?.Invoke(o);
            });
            silo.Services.Configure<ReminderOptions>(o => o.MinimumReminderPeriod = TimeoutCheckPeriod);
            silo.Services.Configure<ConversationOptions>(o =>
            {
                o.SendRatePerSecond = 10_000;
                o.SendBurst = 10_000;
            });
            silo.AddImStorage();
            if (faults is not null)
            {
                // The production grain storage, behind the tests' storage faults.
                var grainStorage = silo.Services.Single(d => d.IsKeyedService && Equals(d.ServiceKey, StorageNames.Grains) && d.ServiceType == typeof(IGrainStorage));
                silo.Services.Remove(grainStorage);
                silo.Services.AddKeyedSingleton<IGrainStorage>(StorageNames.Grains, (services, key) =>
                    new FaultyGrainStorage((IGrainStorage)grainStorage.KeyedImplementationFactory!(services, key), faults));
            }

            silo.AddMemoryStreams(StreamNames.Provider);
        });
        builder.ConfigureClient(client => client.AddMemoryStreams(StreamNames.Provider));
        var cluster = builder.Build();
        await cluster.DeployAsync();
        return cluster;
    }
}

[CollectionDefinition(Name)]
public sealed class CustomerServiceClusterGroup : ICollectionFixture<CustomerServiceClusterFixture>
{
    public const string Name = "customer-service cluster";
}
