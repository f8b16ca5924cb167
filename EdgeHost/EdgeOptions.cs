using System.ComponentModel.DataAnnotations;
using Microsoft.AspNetCore.Http.Connections;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Hosting;

namespace Orleans.Im.EdgeHost;

/// <summary>Where the edge host listens. Bound from <c>IM:Edge</c> (environment: <c>IM__Edge__…</c>).</summary>
public sealed class EdgeOptions : IValidatableObject
{
    public const string Section = "IM:Edge";

    /// <summary>Settings earlier releases had, still taken (and ignored) so that an upgraded host starts: StatsReportInterval (replaced by ReportInterval when edges began reporting to the edge directory).</summary>
    public static readonly IReadOnlyCollection<string> RetiredKeys = ["StatsReportInterval"];

    /// <summary>
    /// HTTP: the API, the SignalR hub, the web chat page, <c>/livez</c>, <c>/healthz</c>, <c>/readyz</c>, and, unless
    /// <see cref="InternalHttpUrl"/> is set, <c>/metrics</c> and the trusted-system API.
    /// </summary>
    public string HttpUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>
    /// A second HTTP listener for what must not be reachable from the internet: <c>/metrics</c>, <c>/api/admin/…</c> and
    /// <c>/api/system/…</c>, <c>/api/auth/verify</c> (<see cref="Internal.InternalEndpoints"/>). Set, those are served here only and
    /// <see cref="HttpUrl"/> answers them 404, whatever the path's case or the proxy in front lets through; publish
    /// <see cref="HttpUrl"/> alone to the balancer. Unset (development), <see cref="HttpUrl"/> serves everything.
    /// </summary>
    public string? InternalHttpUrl { get; set; }

    /// <summary>The address the raw TCP (protobuf) listeners bind to.</summary>
    public string TcpAddress { get; set; } = "127.0.0.1";

    /// <summary>The TCP port when none is configured.</summary>
    public const int DefaultTcpPort = 5090;

    /// <summary>
    /// Ports of the raw TCP (protobuf) listeners; several ports spread connections over more source/port pairs.
    /// Empty here on purpose: the configuration binder appends to a list it finds, so a default in the list would be
    /// bound twice. <see cref="EffectiveTcpPorts"/> supplies the default.
    /// </summary>
    public List<int> TcpPorts { get; set; } = [];

    /// <summary>The configured ports, each once, or the default port when none is configured.</summary>
    public IReadOnlyList<int> EffectiveTcpPorts => TcpPorts.Count == 0 ? [DefaultTcpPort] : TcpPorts.Distinct().ToList();

    /// <summary>This edge host's id in the cluster (user grains record which edge holds each device).</summary>
    public string EdgeId { get; set; } = $"{Environment.MachineName}-{Environment.ProcessId}";

    /// <summary>
    /// How this edge takes its users' pushes from the user grains: <see cref="PushPath.Observer"/> (direct one-way calls
    /// to one observer of this edge) or <see cref="PushPath.Stream"/> (a subscription to each user's Orleans stream).
    /// See <c>docs/BENCHMARKS.md</c> for why the default is what it is.
    /// </summary>
    public PushPath PushPath { get; set; } = PushPath.Observer;

    /// <summary>The largest frame body accepted, checked against the header before the body is read.</summary>
    [CountRange(1024, 16 * 1024 * 1024)]
    public int MaxFrameBytes { get; set; } = 64 * 1024;

    /// <summary>
    /// The largest frame a connection may send before it has logged in (a login, pings; a login is well under 3 KiB),
    /// whatever <see cref="MaxFrameBytes"/> says: a socket that never logs in must not make the edge buffer a whole large
    /// frame (the edge's memory pool keeps what it once held).
    /// </summary>
    public const int MaxFrameBytesBeforeLogin = 8 * 1024;

    /// <summary>A connection that has not logged in within this is closed.</summary>
    [TimeSpanRange("00:00:00.100", "00:05:00")]
    public TimeSpan LoginTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Logins this edge registers with the cluster at once. A login storm (every client of a restarted edge or silo
    /// reconnecting) activates a user grain per login, each reading PostgreSQL: unbounded, they exhaust the silos'
    /// connection pools and fail together. Beyond this many, logins wait their turn (see <see cref="LoginQueueTimeout"/>).
    /// Not much lower than a storm's rate times a login's latency, though: a login waits on the silo, two PostgreSQL reads
    /// and every hop's thread wake-up (~15–20 ms on two loaded cores), and 64 at once capped one edge at ~3,800 logins a
    /// second with a quarter of the machine idle (docs/BENCHMARKS.md, twentieth session).
    /// </summary>
    [CountRange(1, 100_000)]
    public int MaxConcurrentLogins { get; set; } = 256;

    /// <summary>
    /// How long a login waits for one of the <see cref="MaxConcurrentLogins"/> places; then it is refused as
    /// retryable (<c>RATE_LIMITED</c>) and the client retries later.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:05:00")]
    public TimeSpan LoginQueueTimeout { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// A connection with no frame within this is closed (clients ping every <see cref="HeartbeatInterval"/>). Web clients
    /// get at least <see cref="EdgeHosting.MinWebClientTimeout"/>: their keep-alive is SignalR's, every 15 s.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan IdleTimeout { get; set; } = TimeSpan.FromSeconds(120);

    /// <summary>How long the chat hub waits for a quiet web client: <see cref="IdleTimeout"/>, at least <see cref="EdgeHosting.MinWebClientTimeout"/>.</summary>
    public TimeSpan WebClientTimeout => IdleTimeout > EdgeHosting.MinWebClientTimeout ? IdleTimeout : EdgeHosting.MinWebClientTimeout;

    /// <summary>
    /// How long data written to a mobile connection may stay unacknowledged by the phone's TCP before the kernel gives the
    /// connection up (Linux <c>TCP_USER_TIMEOUT</c>; zero: the kernel's default, ~15 minutes of retransmissions). A phone
    /// that lost its network without closing is then found within this of the first push it misses, not at
    /// <see cref="IdleTimeout"/>; the lost connection's device is notified through offline push of what it missed.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan UnacknowledgedDataTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>
    /// How often this edge host renews each connected device with its user grain (<see cref="Sessions.DeviceLeaseRenewal"/>).
    /// Well below the silo's <c>IM:Users:DeviceLease</c> (15 minutes), so that a renewal or two may fail without the
    /// device being dropped; at most 10 minutes, since the lease is set on the silos, not here.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan DeviceRenewInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>How often clients are told to ping.</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>Frames waiting to be written per connection; beyond it pushes are dropped and the device told to resync.</summary>
    [CountRange(1, 1_000_000)]
    public int OutboundQueueCapacity { get; set; } = 256;

    /// <summary>
    /// Chat rooms one connected device may be in: a join past it is refused (not allowed). Each room a device joins keeps
    /// an activation, a lease this edge renews, and an entry in its user grain; without a bound, one connection could
    /// make an edge hold tens of thousands of rooms.
    /// </summary>
    [CountRange(1, 100_000)]
    public int MaxRoomsPerDevice { get; set; } = 100;

    /// <summary>
    /// Bytes of replies (pages of history, sync answers…) waiting to be written per connection. A client that keeps
    /// asking and does not read is too slow: past this its connection is closed, as when the queue is full by count. At
    /// least one reply always waits whatever its size, so this may be below <see cref="MaxFrameBytes"/>.
    /// </summary>
    [CountRange(1024, 1024 * 1024 * 1024)]
    public int MaxQueuedReplyBytes { get; set; } = 1024 * 1024;

    /// <summary>A connection whose outbound queue stays full this long is closed.</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan SlowConsumerTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Push frame bodies from this size up are DEFLATE-compressed (when that makes them smaller).</summary>
    public int CompressFromBytes { get; set; } = 1024;

    /// <summary>
    /// Open TCP connections one remote address may hold on this edge; 0 turns it off (the default: carrier NAT puts many
    /// users behind one address, so set it to what the balancer in front lets through).
    /// </summary>
    public int MaxConnectionsPerAddress { get; set; }

    /// <summary>TCP connections accepted but not yet logged in, edge-wide; 0 turns it off. Each waits at most <see cref="LoginTimeout"/>.</summary>
    public int MaxUnauthenticatedConnections { get; set; } = 10_000;

    /// <summary>Messages per second one user may send over this edge, all conversations together; 0 turns it off.</summary>
    public double UserSendRatePerSecond { get; set; } = 30;

    /// <summary>Messages a user may send at once before <see cref="UserSendRatePerSecond"/> applies.</summary>
    public int UserSendBurst { get; set; } = 100;

    /// <summary>
    /// Requests per second one connection may make besides sends of stored messages, logins and heartbeats (sync, pull,
    /// read marks, recall, typing, instant messages, room joins, connection tokens…; <see cref="RequestCosts"/>), and
    /// each signed-in user over the HTTP API; 0 turns the budget off. Past it a request is answered "rate limited"
    /// (retryable) instead of reaching the cluster.
    /// </summary>
    [Range(0.0, 1_000_000.0, ErrorMessage = "must be between {1} and {2} (0 turns it off)")]
    public double RequestsPerSecond { get; set; } = 50;

    /// <summary>
    /// Requests a connection may make at once before <see cref="RequestsPerSecond"/> applies: room for a reconnect's
    /// catch-up (a sync and a pull per conversation that changed). At least <see cref="RequestCosts.ConnectionToken"/>.
    /// </summary>
    [CountRange(RequestCosts.ConnectionToken, 1_000_000)]
    public int RequestBurst { get; set; } = 500;

    /// <summary>
    /// How often this edge reports to the edge directory (addresses, load) and the cluster stats. The directory drops
    /// an edge after three intervals without a report.
    /// </summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The <c>host:port</c> addresses clients use for TCP, when they differ from the listeners (behind a balancer or NAT).</summary>
    public List<string> PublicTcpAddresses { get; set; } = [];

    /// <summary>The base URL clients use for HTTP and WebSockets, when it differs from <see cref="HttpUrl"/>.</summary>
    public string? PublicHttpUrl { get; set; }

    /// <summary>Origins (scheme://host:port) allowed to open the chat hub besides the edge's own, e.g. a web app's site.</summary>
    public List<string> AllowedOrigins { get; set; } = [];

    /// <summary>
    /// The SignalR transports the chat hub offers. WebSockets alone by default: the web page uses nothing else. Long
    /// polling and server-sent events (for networks whose proxies refuse WebSockets) carry the connection's id in every
    /// request's query; <see cref="Hubs.HubConnectionOwners"/> refuses a request carrying it under another sign-in.
    /// </summary>
    public HttpTransportType HubTransports { get; set; } = HttpTransportType.WebSockets;

    /// <summary>The most events in one push frame.</summary>
    [CountRange(1, 100_000)]
    public int MaxEventsPerPush { get; set; } = 200;

    /// <summary>
    /// Draining (SIGTERM or the admin call): the redirects to this edge's clients are spread over this window, so they
    /// do not all land on another edge in the same instant.
    /// </summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan DrainWindow { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>After the window, how long a draining edge waits for its clients to leave before it closes the rest.</summary>
    [TimeSpanRange("00:00:00", "00:10:00")]
    public TimeSpan DrainTimeout { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>
    /// Logins since the last compaction that make a login storm, whose garbage is collected and given back to the
    /// operating system once logins have been quiet for <see cref="CompactWhenQuietFor"/>; 0 turns it off
    /// (<see cref="Memory.LoginStormCompaction"/>).
    /// </summary>
    public int CompactAfterLogins { get; set; } = 5_000;

    /// <summary>How long logins must stay below a hundred a second before a storm counts as over.</summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan CompactWhenQuietFor { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>The least time between two compactions after login storms.</summary>
    [TimeSpanRange("00:00:00", "1.00:00:00")]
    public TimeSpan CompactMinInterval { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Keep Kestrel's socket buffer blocks for reuse instead of evicting idle ones (.NET 10's default), whose garbage an
    /// edge of idle connections collects only at its next full collection (<see cref="Memory.RetainingBlockPool"/>).
    /// On by default: it slows an idle edge's memory growth 3-5x, and p2p latency below the machine's knee is the same with
    /// it as without (docs/BENCHMARKS.md, seventh and eighth sessions). Off gives Kestrel's own pool back.
    /// </summary>
    public bool RetainSocketBuffers { get; set; } = true;

    /// <summary>
    /// Proxies in front of this edge whose <c>X-Forwarded-For</c> and <c>X-Forwarded-Proto</c> are believed: addresses
    /// (<c>10.0.0.5</c>) or networks (<c>172.28.0.0/16</c>). Empty: loopback only (ASP.NET Core's default). The client
    /// address they give is what per-address limits count (logins, refreshes); a request from any other address is taken
    /// at its own address, so nobody else can pick the address they are counted under.
    /// </summary>
    public List<string> TrustedProxies { get; set; } = [];

    /// <summary>Rules between options, checked at start once each is within its own bounds.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        foreach (var proxy in TrustedProxies)
        {
            if (!TryParseProxy(proxy, out _))
            {
                yield return new ValidationResult(
                    $"'{proxy}' is neither an IP address nor a network (address/prefix length)", [nameof(TrustedProxies)]);
            }
        }

        if (!string.IsNullOrEmpty(InternalHttpUrl))
        {
            if (!Uri.TryCreate(InternalHttpUrl, UriKind.Absolute, out var internalUrl) || internalUrl.Scheme != Uri.UriSchemeHttp)
            {
                yield return new ValidationResult($"'{InternalHttpUrl}' is not an http:// URL", [nameof(InternalHttpUrl)]);
            }
            else if (Uri.TryCreate(HttpUrl, UriKind.Absolute, out var httpUrl) && httpUrl.Port == internalUrl.Port)
            {
                yield return new ValidationResult(
                    $"must use another port than HttpUrl ({httpUrl.Port}): the internal endpoints are told apart by the port a request came in on",
                    [nameof(InternalHttpUrl)]);
            }
        }

        if (HubTransports == HttpTransportType.None
            || (HubTransports & ~(HttpTransportType.WebSockets | HttpTransportType.ServerSentEvents | HttpTransportType.LongPolling)) != 0)
        {
            yield return new ValidationResult(
                $"'{HubTransports}' names no transport or an unknown one (WebSockets, ServerSentEvents, LongPolling)", [nameof(HubTransports)]);
        }

        // Clients ping every HeartbeatInterval: at or above the idle timeout, every quiet connection would be cut.
        if (HeartbeatInterval >= IdleTimeout)
        {
            yield return new ValidationResult(
                $"must be below IdleTimeout ({IdleTimeout}), or quiet clients are disconnected between their pings",
                [nameof(HeartbeatInterval)]);
        }
    }

    /// <summary>A trusted proxy's entry as a network (an address is a network of one).</summary>
    public static bool TryParseProxy(string? value, out System.Net.IPNetwork network)
    {
        network = default;
        if (string.IsNullOrWhiteSpace(value))
        {
            return false;
        }

        var text = value.Trim();
        if (System.Net.IPAddress.TryParse(text, out var address))
        {
            network = new System.Net.IPNetwork(address, address.AddressFamily == System.Net.Sockets.AddressFamily.InterNetwork ? 32 : 128);
            return true;
        }

        return System.Net.IPNetwork.TryParse(text, out network);
    }
}
