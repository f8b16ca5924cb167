using System.Net;
using Npgsql;
using Orleans.Configuration;
using Microsoft.Extensions.Options;
using Orleans.Dashboard;
using Orleans.Im.Conversations;
using Orleans.Im.Metrics;
using Orleans.Im.Silo.Logging;
using Orleans.Im.CustomerService;
using Orleans.Im.Events;
using Orleans.Im.Hosting;
using Orleans.Im.Rooms;
using Orleans.Im.Silo.Events;
using Orleans.Im.Silo.Stats;
using Orleans.Im.Silo.OfflinePush;
using Orleans.Im.Silo.Webhooks;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Users;
using Orleans.Im.Webhooks;
using Orleans.Im.Streams;
using Orleans.Serialization;
using Orleans.Storage;
using StackExchange.Redis;

namespace Orleans.Im.Silo;

/// <summary>All the wiring of a silo host, in one place, used by <c>Program</c> and by the tests.</summary>
public static class SiloHosting
{
    /// <summary>The ADO.NET invariant name of PostgreSQL's provider.</summary>
    public const string NpgsqlInvariant = "Npgsql";

    /// <summary>How many statements each pooled connection keeps prepared, unless the connection string says.</summary>
    public const int DefaultMaxAutoPrepare = 32;

    /// <summary>Orleans' stream pulling agent options of our stream provider (<c>StreamPullingAgentOptions</c>).</summary>
    public const string PullingAgentSection = "IM:Streams:PullingAgent";

    /// <summary>How often the stream pulling agents look for new items, unless configured (Orleans' own default is 100 ms).</summary>
    public static readonly TimeSpan DefaultStreamPollingPeriod = TimeSpan.FromMilliseconds(20);

    /// <summary>Reads a required connection string from configuration, naming the key in the error.</summary>
    public static string GetRequiredSetting(this IConfiguration configuration, string key) =>
        configuration[key] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException($"Configuration '{key}' is missing (environment variable '{key.Replace(":", "__", StringComparison.Ordinal)}').");

    /// <summary>The setting of PostgreSQL's connection string.</summary>
    public const string PostgresConnectionStringKey = "IM:Postgres:ConnectionString";

    /// <summary>
    /// The silo's PostgreSQL data source. Unless the connection string says otherwise:
    /// <list type="bullet">
    /// <item>pooled connections are not reset when returned (<c>No Reset On Close</c>): nothing here leaves session state
    /// behind (no SET, no session locks, no temporary tables), and the reset is a <c>DISCARD ALL</c> before the next
    /// statement on that connection — as many statements as all the rest under load — which also drops every prepared
    /// statement;</item>
    /// <item>statements run often are prepared automatically (<c>Max Auto Prepare</c>): the log's insert, the index
    /// upsert and the grain-state queries are the same few texts all day, and parsing and planning them again for each
    /// batch was a large share of PostgreSQL's CPU per message.</item>
    /// </list>
    /// </summary>
    public static NpgsqlDataSource CreateDataSource(string connectionString)
    {
        var settings = new NpgsqlConnectionStringBuilder(connectionString);
        // NpgsqlConnectionStringBuilder.ContainsKey is true for every keyword it knows, set or not: ask what was written,
        // in either of the spellings Npgsql accepts.
        var written = new System.Data.Common.DbConnectionStringBuilder { ConnectionString = connectionString };
        bool Says(string keyword) => written.ContainsKey(keyword) || written.ContainsKey(keyword.Replace(" ", "", StringComparison.Ordinal));

        if (!Says("No Reset On Close"))
        {
            settings.NoResetOnClose = true;
        }

        if (!Says("Max Auto Prepare"))
        {
            settings.MaxAutoPrepare = DefaultMaxAutoPrepare;
        }

        return NpgsqlDataSource.Create(settings.ConnectionString);
    }

    /// <summary>
    /// Configures the Orleans silo: Redis clustering, endpoints, PostgreSQL grain storage, the <c>im</c> stream
    /// provider and the dashboard. The <see cref="NpgsqlDataSource"/> must already be registered.
    /// </summary>
    public static IHostApplicationBuilder AddImSilo(this IHostApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var siloOptions = configuration.GetSection(SiloOptions.Section).Get<SiloOptions>() ?? new SiloOptions();
        builder.Services.AddSingleton(_ => DatabaseProbe.Create(configuration.GetRequiredSetting(PostgresConnectionStringKey), siloOptions.DatabaseGrace, TimeProvider.System));
        var redis = configuration.GetRequiredSetting("IM:Redis:ConnectionString");

        // Checked at start: a value out of bounds (a bare number is read as days) stops the silo, naming the key.
        builder.Services.AddValidatedOptions<ConversationOptions>(configuration, ConversationOptions.Section);
        builder.Services.AddValidatedOptions<RoomOptions>(configuration, RoomOptions.Section);
        builder.Services.AddValidatedOptions<UserOptions>(configuration, UserOptions.Section);
        builder.Services.AddValidatedOptions<GroupCommitOptions>(configuration, GroupCommitOptions.Section);
        builder.Services.AddValidatedOptions<CustomerServiceOptions>(configuration, CustomerServiceOptions.Section);
        // The streams' pulling agents (named after the provider): the polling period sets the floor of push latency on
        // every stream path — chat rooms, robots, stream-path edges — about half of it at the median. Orleans' default of
        // 100 ms put room deliveries at ~97 ms p50; 10 ms put them at ~30 ms for +0.03 cores of an idle silo (8 queues
        // polled). 20 ms is our default; IM__Streams__PullingAgent__GetQueueMsgsTimerPeriod overrides it.
        // Measured in docs/BENCHMARKS.md (fourth session).
        builder.Services.Configure<StreamPullingAgentOptions>(StreamNames.Provider, o => o.GetQueueMsgsTimerPeriod = DefaultStreamPollingPeriod);
        builder.Services.Configure<StreamPullingAgentOptions>(StreamNames.Provider, configuration.GetSection(PullingAgentSection));
        // Orleans' own options carry no bounds: misspelt keys and bare-number time spans there are refused at start too.
        builder.Services.CheckForeignSection<StreamPullingAgentOptions>(configuration, PullingAgentSection, StreamNames.Provider);
        builder.Services.CheckForeignSection<ClusterMembershipOptions>(configuration, SiloOptions.MembershipSection);
        builder.Services.AddValidatedOptions<StatsOptions>(configuration, StatsOptions.Section);
        builder.Services.AddHostedService<SiloStatsReporter>();
        builder.Logging.AddImConsole(configuration);
        builder.Services.AddSingleton<PrometheusExporter>();
        builder.Services.AddSingleton<ProcessMetrics>();
        builder.Services.AddImGrains();
        builder.Services.AddImFirehose(o =>
        {
            configuration.GetSection(FirehoseOptions.Section).Bind(o);
            o.Redis = o.Redis is { Length: > 0 } ? o.Redis : redis;
        });
        builder.Services.AddSingleton<IValidateOptions<FirehoseOptions>>(
            new SectionKeysValidator<FirehoseOptions>(configuration, FirehoseOptions.Section, Options.DefaultName, valuesOnly: true));
        builder.Services.AddValidatedOptions<WebhookOptions>(configuration, WebhookOptions.Section, WebhookOptions.RetiredKeys);
        builder.Services.AddSingleton<WebhookSender>();
        builder.Services.AddOptions<WebhookRegistryOptions>().Configure<IOptions<WebhookOptions>>((registry, webhooks) =>
        {
            registry.AllowPrivateNetworks = webhooks.Value.AllowPrivateNetworks;
            registry.AllowLocalAddresses = webhooks.Value.AllowLocalAddresses;
        });
        builder.Services.AddHttpClient(WebhookSender.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(sp => WebhookSender.CreateHandler(sp.GetRequiredService<IOptions<WebhookOptions>>().Value));
        builder.Services.AddHostedService<WebhookDispatcher>();

        // A silo stopped by SIGTERM hands its grains over and leaves the membership table cleanly; give it time.
        builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(45));

        builder.UseOrleans(silo =>
        {
            silo.Configure<ClusterOptions>(configuration.GetSection("IM"));
            // Failure detection (probe timeout, missed probes, table refresh): Orleans' defaults unless configured.
            silo.Configure<ClusterMembershipOptions>(configuration.GetSection(SiloOptions.MembershipSection));
            silo.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            silo.ConfigureEndpoints(
                ResolveAdvertisedAddress(siloOptions.AdvertisedIPAddress),
                siloOptions.SiloPort,
                siloOptions.GatewayPort,
                listenOnAnyHostAddress: false);
            if (siloOptions.Name.Length > 0)
            {
                silo.Configure<Orleans.Configuration.SiloOptions>(o => o.SiloName = siloOptions.Name);
            }

            // Random placement, not Orleans' resource-optimized default: user and conversation grains are many, small and
            // alike, and a login storm (every client reconnecting after a restart) places thousands of activations within
            // one statistics period, all on whichever silo looked least loaded at its start. Random spreads them evenly.
            silo.Services.AddSingleton<PlacementStrategy, RandomPlacement>();
            silo.AddImStorage();
            silo.AddMemoryStreams(StreamNames.Provider);
            if (siloOptions.DashboardEnabled)
            {
                silo.AddDashboard();
            }
        });

        builder.Services.AddImOfflinePush(configuration);

        return builder;
    }

    /// <summary>
    /// Registers the event firehose: the Redis Streams publisher grains hand events to (<see cref="IEventFirehose"/>),
    /// running as a hosted service that pumps them to Redis.
    /// </summary>
    public static IServiceCollection AddImFirehose(this IServiceCollection services, Action<FirehoseOptions> configure)
    {
        services.AddMetrics();
        services.AddSingleton<IValidateOptions<FirehoseOptions>>(new ConfigurationSectionValidator<FirehoseOptions>(FirehoseOptions.Section));
        services.AddOptions<FirehoseOptions>().Configure(configure).ValidateOnStart();
        services.AddSingleton<RedisFirehosePublisher>();
        services.AddSingleton<IEventFirehose>(sp => sp.GetRequiredService<RedisFirehosePublisher>());
        services.AddHostedService(sp => sp.GetRequiredService<RedisFirehosePublisher>());
        return services;
    }

    /// <summary>
    /// Registers all PostgreSQL storage: grain state (see <see cref="AddImGrainStorage"/>), the message log, the
    /// conversation indexes, official-account subscriptions, ended sessions and the reminder table. The <see cref="NpgsqlDataSource"/> must be registered.
    /// </summary>
    public static ISiloBuilder AddImStorage(this ISiloBuilder silo)
    {
        silo.AddImGrainStorage();
        silo.Services.AddOptions<GroupCommitOptions>();
        silo.Services.AddSingleton(sp => new PostgresMessageLog(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<GroupCommitOptions>>().Value));
        silo.Services.AddSingleton<IMessageLog>(sp => sp.GetRequiredService<PostgresMessageLog>());
        silo.Services.AddSingleton(sp => new PostgresConversationIndexStore(sp.GetRequiredService<NpgsqlDataSource>(), sp.GetRequiredService<IOptions<GroupCommitOptions>>().Value));
        silo.Services.AddSingleton<IConversationIndexStore>(sp => sp.GetRequiredService<PostgresConversationIndexStore>());
        silo.Services.AddSingleton<Orleans.Im.PublicAccounts.ISubscriptionStore>(sp => new PostgresSubscriptionStore(sp.GetRequiredService<NpgsqlDataSource>()));
        silo.Services.AddSingleton<Orleans.Im.Accounts.IRevocationStore>(sp => new PostgresRevocationStore(sp.GetRequiredService<NpgsqlDataSource>()));
        // Durable reminders (customer-service timeouts) in our own PostgreSQL table.
        silo.AddReminders();
        silo.Services.AddSingleton<IReminderTable, PostgresReminderTable>();
        return silo;
    }

    /// <summary>
    /// Registers the PostgreSQL grain storage under <see cref="StorageNames.Grains"/> and <see cref="StorageNames.PubSub"/>,
    /// using the registered <see cref="NpgsqlDataSource"/> and the Orleans serializer (type aliases, not CLR names,
    /// so renaming a state class does not orphan stored state).
    /// </summary>
    public static ISiloBuilder AddImGrainStorage(this ISiloBuilder silo)
    {
        foreach (var name in new[] { StorageNames.Grains, StorageNames.PubSub })
        {
            silo.AddAdoNetGrainStorage(name, options => options.Configure<NpgsqlDataSource, Serializer>((o, dataSource, serializer) =>
            {
                o.Invariant = NpgsqlInvariant;
                o.DataSource = dataSource;
                o.GrainStorageSerializer = new OrleansGrainStorageSerializer(serializer);
            }));
        }

        return silo;
    }

    /// <summary>
    /// The address to advertise: an IP as given, or a host name resolved to its first IPv4 address (in a container, its
    /// own name: compose service names resolve to the container's address).
    /// </summary>
    public static IPAddress ResolveAdvertisedAddress(string address) =>
        IPAddress.TryParse(address, out var ip)
            ? ip
            : Dns.GetHostAddresses(address).FirstOrDefault(a => a.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork)
              ?? throw new InvalidOperationException($"'{address}' (IM:Silo:AdvertisedIPAddress) resolves to no IPv4 address.");

    /// <summary>Logs that the silo cannot start because PostgreSQL is unreachable.</summary>
    public static void LogCannotStart(ILogger logger, string reason) => SiloLog.CannotStart(logger, reason);

    /// <summary>Logs that the silo cannot start because an option is out of bounds.</summary>
    public static void LogInvalidOptions(ILogger logger, string reason) => SiloLog.InvalidOptions(logger, reason);

    /// <summary>
    /// Waits until Redis, which holds the cluster's membership, answers, trying every second for up to
    /// <paramref name="patience"/>: Orleans fails its membership start at once (with a stack trace) when Redis is not up
    /// yet, so a silo started with or just before Redis (compose, a restart of both, a node that comes back) would exit
    /// instead of joining. Redis still loading its data answers "LOADING", and a paused one times out: both are waited
    /// for too; a refused password is not (it will not get better). Throws <see cref="RedisException"/> or
    /// <see cref="TimeoutException"/> when it never answered.
    /// </summary>
    public static async Task WaitForRedisAsync(string connectionString, ILogger logger, TimeSpan patience, CancellationToken cancellationToken)
    {
        var options = ConfigurationOptions.Parse(connectionString);
        options.AbortOnConnectFail = true;
        options.ConnectRetry = 1;
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            try
            {
                await using var redis = await ConnectionMultiplexer.ConnectAsync(options);
                await redis.GetDatabase().PingAsync();
                return;
            }
            catch (Exception ex) when (ex is RedisException or TimeoutException
                && ex is not RedisConnectionException { FailureType: ConnectionFailureType.AuthenticationFailure }
                && DateTime.UtcNow < deadline)
            {
                SiloLog.RedisNotReady(logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }

    /// <summary>Logs that the silo cannot start because Redis never answered.</summary>
    public static void LogCannotStartWithoutRedis(ILogger logger, string reason) => SiloLog.CannotStartWithoutRedis(logger, reason);

    /// <summary>
    /// Applies the schema migrations, retrying while PostgreSQL is not yet reachable (it may be starting beside us) or a
    /// migration could not get a table lock in time.
    /// </summary>
    public static async Task MigrateDatabaseAsync(NpgsqlDataSource dataSource, ILogger logger, TimeSpan patience, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + patience;
        while (true)
        {
            try
            {
                var applied = await SchemaMigrator.ApplyAsync(dataSource, cancellationToken);
                SiloLog.MigrationsApplied(logger, applied.Count, string.Join(",", applied));
                return;
            }
            // A migration that timed out waiting for a table lock (SchemaMigrator.LockTimeout) may get it on another try.
            catch (NpgsqlException ex) when ((ex.IsTransient || ex is PostgresException { SqlState: PostgresErrorCodes.LockNotAvailable })
                && DateTime.UtcNow < deadline)
            {
                SiloLog.DatabaseNotReady(logger, ex.Message);
                await Task.Delay(TimeSpan.FromSeconds(1), cancellationToken);
            }
        }
    }
}
