using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Configuration;
using Orleans.Im.Streams;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// Real silo processes on the test PostgreSQL and Redis, forming one cluster with its own cluster id,
/// and Orleans clients that reach it through Redis membership, as an edge host does.
/// </summary>
public sealed class SiloCluster : IAsyncDisposable
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(90);
    private readonly List<HostProcess> _processes = []; // silos and edge hosts
    private readonly List<IHost> _clients = [];

    /// <param name="purpose">Names the cluster id (unique per instance).</param>
    /// <param name="serviceId">
    /// Grain state is keyed by it. Each cluster has its own by default: test collections run at once, and clusters that
    /// shared one overwrote each other's grain state in the shared database — the stream pub-sub's subscriber lists among
    /// it ("version conflict" on the revocation stream's rendezvous grain), so an edge could miss the revocation broadcast.
    /// </param>
    public SiloCluster(string purpose, string? serviceId = null)
    {
        ClusterId = TestServices.NewClusterId(purpose);
        ServiceId = serviceId ?? ClusterId;
    }

    public string ClusterId { get; }

    /// <summary>The Redis of membership and the firehose; a fault test that stops Redis gives its own (<see cref="PrivateRedis"/>).</summary>
    public string RedisConnectionString { get; init; } = TestServices.RedisConnectionString;

    /// <summary>The PostgreSQL of the silos; a fault test that restarts PostgreSQL gives its own (<see cref="PrivatePostgres"/>).</summary>
    public string PostgresConnectionString { get; init; } = TestServices.PostgresConnectionString;

    /// <summary>Service id shared by every silo: grain state is keyed by it, so restarts see the same state.</summary>
    public string ServiceId { get; }

    /// <summary>Starts a silo on the given (or fresh) ports and waits until it is an active member.</summary>
    public async Task<RunningSilo> StartSiloAsync(SiloEndpoints? endpoints = null, IReadOnlyDictionary<string, string>? settings = null)
    {
        endpoints ??= new SiloEndpoints(FreePorts.Next(), FreePorts.Next(), FreePorts.Next());
        var silo = StartSiloProcess(endpoints, settings);
        await silo.WaitHealthyAsync(StartTimeout);
        return new RunningSilo(endpoints, silo);
    }

    /// <summary>Starts a silo process on the given ports without waiting for it (stopped with the cluster).</summary>
    public HostProcess StartSiloProcess(SiloEndpoints endpoints, IReadOnlyDictionary<string, string>? settings = null)
    {
        var environment = new Dictionary<string, string>
        {
            ["IM__ClusterId"] = ClusterId,
            ["IM__ServiceId"] = ServiceId,
            ["IM__Postgres__ConnectionString"] = PostgresConnectionString,
            ["IM__Redis__ConnectionString"] = RedisConnectionString,
            ["IM__Silo__SiloPort"] = endpoints.SiloPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Silo__GatewayPort"] = endpoints.GatewayPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Silo__HttpUrl"] = $"http://127.0.0.1:{endpoints.HttpPort}",
            ["IM__Silo__DashboardEnabled"] = "false",
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var silo = HostProcess.Start("Silo", endpoints.HttpPort, environment);
        _processes.Add(silo);
        return silo;
    }

    /// <summary>The signing key the edge hosts of this cluster share; tests mint tokens with it.</summary>
    public string SigningKey { get; } = Orleans.Im.EdgeHost.Auth.AccessTokens.NewSigningKey();

    /// <summary>Starts an edge host process (HTTP and one TCP port) and waits until its <c>/healthz</c> is 200.</summary>
    public async Task<RunningEdge> StartEdgeAsync(IReadOnlyDictionary<string, string>? settings = null)
    {
        var endpoints = new EdgeEndpoints(FreePorts.Next(), FreePorts.Next());
        var environment = new Dictionary<string, string>
        {
            ["IM__ClusterId"] = ClusterId,
            ["IM__ServiceId"] = ServiceId,
            ["IM__Redis__ConnectionString"] = RedisConnectionString,
            ["IM__Auth__SigningKey"] = SigningKey,
            ["IM__Edge__HttpUrl"] = $"http://127.0.0.1:{endpoints.HttpPort}",
            ["IM__Edge__TcpPorts__0"] = endpoints.TcpPort.ToString(System.Globalization.CultureInfo.InvariantCulture),
        };
        foreach (var (key, value) in settings ?? new Dictionary<string, string>())
        {
            environment[key] = value;
        }

        var edge = HostProcess.Start("EdgeHost", endpoints.HttpPort, environment);
        _processes.Add(edge);
        await edge.WaitHealthyAsync(StartTimeout);
        return new RunningEdge(endpoints, edge);
    }

    /// <summary>A connected Orleans client of this cluster (Redis gateway discovery, like an edge host).</summary>
    public async Task<IClusterClient> ConnectClientAsync()
    {
        var builder = Host.CreateApplicationBuilder();
        // Connection resets while silos are killed on purpose are expected: keep only errors in the test log.
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(o =>
            {
                o.ClusterId = ClusterId;
                o.ServiceId = ServiceId;
            });
            client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(RedisConnectionString));
            // Silos are killed and frozen on purpose here: the client drops a dead silo's gateway within seconds rather
            // than at the default minute, after which its calls no longer wait on it.
            client.Configure<GatewayOptions>(o => o.GatewayListRefreshPeriod = TimeSpan.FromSeconds(2));
            client.AddMemoryStreams(StreamNames.Provider);
        });
        var host = builder.Build();
        _clients.Add(host);
        using var cts = new CancellationTokenSource(StartTimeout);
        await host.StartAsync(cts.Token);
        return host.Services.GetRequiredService<IClusterClient>();
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var client in _clients)
        {
            try
            {
                using var cts = new CancellationTokenSource(TimeSpan.FromSeconds(5));
                await client.StopAsync(cts.Token);
            }
            catch (Exception)
            {
                // The cluster may already be gone; the client is disposed either way.
            }

            client.Dispose();
        }

        foreach (var silo in _processes)
        {
            await silo.DisposeAsync();
        }
    }
}

/// <summary>The ports of one silo process.</summary>
public sealed record SiloEndpoints(int SiloPort, int GatewayPort, int HttpPort);

/// <summary>The ports of one edge host process.</summary>
public sealed record EdgeEndpoints(int HttpPort, int TcpPort);

/// <summary>An edge host process started by <see cref="SiloCluster"/>, and where it listens.</summary>
/// <summary>
/// An edge host a test started. Disposing it stops it gracefully (it leaves the edge directory), for edges started by
/// one test of a shared cluster: left running, idle edges pile up and crowd the directory's answers for later tests.
/// The cluster still kills whatever is left at its end.
/// </summary>
public sealed record RunningEdge(EdgeEndpoints Endpoints, HostProcess Process) : IAsyncDisposable
{
    public async ValueTask DisposeAsync() => await Process.StopAsync(TimeSpan.FromSeconds(30));
}

/// <summary>A silo process started by <see cref="SiloCluster"/>, and where it listens.</summary>
public sealed record RunningSilo(SiloEndpoints Endpoints, HostProcess Process);
