namespace Orleans.Im.Client;

/// <summary>How an <see cref="ImClient"/> connects.</summary>
public sealed class ImClientOptions
{
    /// <summary>The edge host's TCP address.</summary>
    public string Host { get; set; } = "127.0.0.1";

    public int Port { get; set; } = 5090;

    /// <summary>
    /// Other edge hosts (<c>host:port</c>) to try, in turn, when the current one cannot be reached, e.g. from
    /// <c>GET /api/edges</c>. A draining edge's redirect puts its own suggestions first.
    /// </summary>
    public List<string> FallbackAddresses { get; set; } = [];

    /// <summary>Gives a valid access token at each (re)connect; the application refreshes it when needed.</summary>
    public Func<CancellationToken, Task<string>> TokenProvider { get; set; } = _ => Task.FromResult("");

    /// <summary>
    /// Told the access token an edge refused at login (<c>UNAUTHENTICATED</c>: revoked, expired, or signed with a key that
    /// edge does not take), before the next attempt asks <see cref="TokenProvider"/> again: a provider that keeps its token
    /// until it is due renews it now (<c>TokenRefused = session.TokenRefusedAsync</c> for an <see cref="ImSession"/>), or
    /// says the sign-in is over (a 401 <see cref="ImAuthException"/>), which stops the reconnects. Without it, a provider
    /// that keeps giving the refused token has every attempt refused until it renews by itself.
    /// </summary>
    public Func<string, CancellationToken, Task>? TokenRefused { get; set; }

    /// <summary>
    /// How long <see cref="TokenProvider"/> (and <see cref="TokenRefused"/>) may take at a (re)connect. They run while the
    /// client connects, which nothing else may do meanwhile: one that hangs (an identity server that never answers) fails
    /// the attempt past this, as a network failure would, and the reconnect loop tries again later.
    /// </summary>
    public TimeSpan TokenTimeout { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Stable per installation: 1-64 of A-Z a-z 0-9 - _ .</summary>
    public string DeviceId { get; set; } = "dotnet";

    public string Platform { get; set; } = "dotnet";

    public string ClientVersion { get; set; } = "1.0";

    /// <summary>How the device is connected (wifi, cellular, …), shown in presence; empty when unknown.</summary>
    public string NetworkType { get; set; } = "";

    /// <summary>How often to ping; the server announces its own at login and the shorter one wins.</summary>
    public TimeSpan HeartbeatInterval { get; set; } = TimeSpan.FromSeconds(50);

    /// <summary>
    /// How often a connected client syncs by itself (checked at each heartbeat), to find messages whose push was lost with
    /// nothing after them to reveal the gap (a silo failure can drop pushes in flight); zero turns it off.
    /// </summary>
    public TimeSpan CatchUpInterval { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// A request without an answer in this time fails. A send without its ack in this time, or a ping without its pong,
    /// means the connection is dead: it is closed and reopened, and the send goes out again with its client message id.
    /// </summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>The first reconnect delay; each next one doubles, up to <see cref="MaxReconnectDelay"/>.</summary>
    public TimeSpan ReconnectBaseDelay { get; set; } = TimeSpan.FromSeconds(2);

    public TimeSpan MaxReconnectDelay { get; set; } = TimeSpan.FromMinutes(5);

    /// <summary>
    /// Reconnect attempts after a connection loss before waiting for <see cref="ImClient.ConnectAsync"/>; an attempt tries
    /// every known address in turn (a redirect's, the configured one, the fallbacks), and the delay doubles between
    /// attempts. When they are spent, sends still waiting for their acks fail.
    /// </summary>
    public int MaxReconnectAttempts { get; set; } = 10;

    /// <summary>
    /// A send refused as retryable (<c>UNAVAILABLE</c> during a failover, <c>RATE_LIMITED</c>) is sent again with its
    /// client message id this many times, after ~1, 2, 4 … s (jittered), before its task fails or answers the refusal;
    /// zero: at once. The server stores it once however often it comes.
    /// </summary>
    public int MaxSendRetries { get; set; } = 4;

    /// <summary>Messages pulled per request when filling a gap.</summary>
    public int PullPageSize { get; set; } = 200;

    /// <summary>Where a previous run left off (saved from <see cref="ImClient.SaveState"/>), so a restart syncs only what changed.</summary>
    public ImClientState? InitialState { get; set; }
}
