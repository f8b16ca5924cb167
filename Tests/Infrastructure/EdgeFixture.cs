using Microsoft.Extensions.Options;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Auth;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A real silo process and a real edge host process on the test PostgreSQL and Redis, shared by the <c>edge</c>
/// collection. The edge runs with short timeouts (login 2 s, idle 3 s, heartbeat 1 s, slow consumer 2 s) so that
/// timeout tests finish quickly; clients ping every second accordingly.
/// </summary>
public sealed class EdgeFixture : IAsyncLifetime
{
    public static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(2);
    public static readonly TimeSpan IdleTimeout = TimeSpan.FromSeconds(3);
    public const int MaxFrameBytes = 64 * 1024;

    /// <summary>Each connection's outbound queue: small, so a device that does not read fills it soon.</summary>
    public const int OutboundQueueCapacity = 32;

    /// <summary>
    /// The silo's presence grace: short, so the presence test sees it run out, yet long enough for the SDK's reconnect (a
    /// back-off, a socket and a login through a loaded edge) to come back within it.
    /// </summary>
    public static readonly TimeSpan PresenceGrace = TimeSpan.FromSeconds(4);

    public SiloCluster Cluster { get; } = new("edge");

    public RunningEdge Edge { get; private set; } = null!;

    /// <summary>The silo the edge host uses.</summary>
    public RunningSilo Silo { get; private set; } = null!;

    /// <summary>The operator's push gateway, which the silo sends offline notifications to.</summary>
    public PushGatewayRecorder PushGateway { get; } = new(TimeProvider.System);

    /// <summary>An Orleans client of the same cluster, for checking what the edge did.</summary>
    public IClusterClient Orleans { get; private set; } = null!;

    public AccessTokens Tokens { get; private set; } = null!;

    public int TcpPort => Edge.Endpoints.TcpPort;

    /// <summary>The admin API key of the edge hosts.</summary>
    public string AdminApiKey { get; } = Convert.ToHexString(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));

    /// <summary>
    /// The login rate window of the edge hosts: short, so the rate-limit test sees it recover, yet long enough that the
    /// test's seven password checks (PBKDF2, slow on purpose) fit in it on a loaded machine.
    /// </summary>
    public static readonly TimeSpan LoginRateWindow = TimeSpan.FromSeconds(8);

    /// <summary>Settings every edge host of this fixture gets (a second edge host included).</summary>
    public IReadOnlyDictionary<string, string> AuthSettings => new Dictionary<string, string>
    {
        ["IM__Auth__AdminApiKey"] = AdminApiKey,
        ["IM__Auth__LoginRateWindow"] = LoginRateWindow.ToString(),
        // Every test logs in from 127.0.0.1: the per-address limit would count the whole suite as one guesser.
        ["IM__Auth__LoginAttemptsPerAddress"] = "100000",
    };

    /// <summary>An HTTP client of the edge host's API.</summary>
    public HttpClient Http(int? port = null) => new() { BaseAddress = new Uri($"http://127.0.0.1:{port ?? Edge.Endpoints.HttpPort}") };

    public async Task InitializeAsync()
    {
        PushGateway.Start();
        Silo = await Cluster.StartSiloAsync(settings: new Dictionary<string, string>
        {
            ["IM__Push__GatewayUrl"] = PushGateway.Url,
            ["IM__Push__Secret"] = PushGatewayRecorder.Secret,
            // Edge tests send as fast as acks come back.
            ["IM__Conversations__SendRatePerSecond"] = "100000",
            ["IM__Conversations__SendBurst"] = "100000",
            ["IM__Stats__ReportInterval"] = "00:00:01",
            ["IM__Users__PresenceGrace"] = PresenceGrace.ToString(),
        });
        Edge = await Cluster.StartEdgeAsync(new Dictionary<string, string>
        {
            ["IM__Edge__LoginTimeout"] = LoginTimeout.ToString(),
            ["IM__Edge__IdleTimeout"] = IdleTimeout.ToString(),
            ["IM__Edge__HeartbeatInterval"] = "00:00:01",
            ["IM__Edge__SlowConsumerTimeout"] = "00:00:02",
            // The kernel does not give up a connection that takes no data (TCP_USER_TIMEOUT): the slow-consumer tests need
            // a device that stops reading to stay connected until the edge's own limits act. The kernel's give-up is
            // tested on an edge of its own (LostConnectionPushTests).
            ["IM__Edge__UnacknowledgedDataTimeout"] = "00:00:00",
            ["IM__Edge__OutboundQueueCapacity"] = OutboundQueueCapacity.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Load-style tests send as fast as acks come back; the per-user limit has its own test and edge host.
            ["IM__Edge__UserSendRatePerSecond"] = "100000",
            ["IM__Edge__UserSendBurst"] = "100000",
            // Lifted like the send limits: the fuzz and protocol tests make hundreds of requests on one connection.
            // RequestBudgetTests checks the budget on an edge of its own.
            ["IM__Edge__RequestsPerSecond"] = "100000",
            ["IM__Edge__RequestBurst"] = "100000",
            ["IM__Edge__ReportInterval"] = "00:00:01",
            ["IM__Edge__MaxFrameBytes"] = MaxFrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        }.Concat(AuthSettings).ToDictionary());
        Orleans = await Cluster.ConnectClientAsync();
        Tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = Cluster.SigningKey }), TimeProvider.System);
    }

    /// <summary>An SDK client for a user's device, not yet connected.</summary>
    public ImClient NewClient(string userId, string deviceId = "phone", int? port = null, ImClientState? state = null, string platform = "test") => new(new ImClientOptions
    {
        Port = port ?? TcpPort,
        TokenProvider = _ => Task.FromResult(Tokens.Issue(userId, "session-" + deviceId)),
        DeviceId = deviceId,
        Platform = platform,
        HeartbeatInterval = TimeSpan.FromSeconds(1),
        RequestTimeout = TimeSpan.FromSeconds(10),
        ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
        MaxReconnectDelay = TimeSpan.FromSeconds(1),
        InitialState = state,
    });

    /// <summary>A connected SDK client.</summary>
    public async Task<ImClient> ConnectAsync(string userId, string deviceId = "phone", ImClientState? state = null)
    {
        var client = NewClient(userId, deviceId, state: state);
        await client.ConnectAsync();
        return client;
    }

    /// <summary>A gauge of the edge's <c>/metrics</c>.</summary>
    public async Task<long> MetricAsync(string name) => (long)(await PrometheusScrape.ReadAsync(Edge.Endpoints.HttpPort)).Samples[name];

    public async Task DisposeAsync()
    {
        await Cluster.DisposeAsync();
        await PushGateway.DisposeAsync();
    }
}

[CollectionDefinition(Name)]
public sealed class EdgeGroup : ICollectionFixture<EdgeFixture>
{
    public const string Name = "edge";
}
