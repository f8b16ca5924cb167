using Orleans.Im.Hosting;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>Token signing. Bound from <c>IM:Auth</c> (environment: <c>IM__Auth__…</c>).</summary>
public sealed class AuthOptions
{
    public const string Section = "IM:Auth";

    /// <summary>
    /// The HMAC-SHA256 key every edge host shares, base64, at least 32 bytes. Required: an edge refuses to start
    /// without one (<c>deploy/run.sh</c> makes a development key).
    /// </summary>
    public string SigningKey { get; set; } = "";

    /// <summary>How long an access token is valid.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>How long a refresh token is valid (each refresh issues a new one).</summary>
    [TimeSpanRange("00:01:00", "365.00:00:00")]
    public TimeSpan RefreshTokenLifetime { get; set; } = TimeSpan.FromDays(30);

    /// <summary>
    /// How long after a refresh the token it replaced may repeat that refresh, getting the same new token: a client whose
    /// answer was lost, or a page reloaded in the middle of it, would otherwise be signed out. Zero makes every refresh
    /// token work exactly once.
    /// </summary>
    [TimeSpanRange("00:00:00", "01:00:00")]
    public TimeSpan RefreshTokenReuseGrace { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>
    /// The key of trusted systems: the admin API, server-to-server sends and token verification (header
    /// <c>X-Api-Key</c>). Empty disables those endpoints. <c>deploy/run.sh</c> makes and prints a development key.
    /// </summary>
    public string AdminApiKey { get; set; } = "";

    /// <summary>
    /// Whether access tokens issued over a long connection (TCP <c>CONNECTION_TOKEN</c>) die with that connection: each is
    /// a session of its own, revoked everywhere when the connection closes. Otherwise they live as long as the login.
    /// </summary>
    public bool ConnectionTokensDieWithConnection { get; set; } = true;

    /// <summary>Failed logins per account per window before further attempts are refused.</summary>
    public int LoginFailuresPerAccount { get; set; } = 5;

    /// <summary>Login attempts per client address per window.</summary>
    public int LoginAttemptsPerAddress { get; set; } = 30;

    /// <summary>The login rate window.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan LoginRateWindow { get; set; } = TimeSpan.FromMinutes(1);
}
