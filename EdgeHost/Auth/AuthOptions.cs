using System.ComponentModel.DataAnnotations;
using Orleans.Im.Hosting;

namespace Orleans.Im.EdgeHost.Auth;

/// <summary>Token signing. Bound from <c>IM:Auth</c> (environment: <c>IM__Auth__…</c>).</summary>
public sealed class AuthOptions : IValidatableObject
{
    public const string Section = "IM:Auth";

    /// <summary>
    /// The shortest <see cref="AdminApiKey"/> an edge starts with: 24 random characters are beyond guessing through the
    /// API, and a placeholder left in a manifest (<c>CHANGE-ME</c>) or a word someone typed is refused at start.
    /// </summary>
    public const int MinAdminApiKeyLength = 24;

    /// <summary>
    /// The HMAC-SHA256 key every edge host shares, base64, at least 32 bytes. Required: an edge refuses to start
    /// without one (<c>deploy/run.sh</c> makes a development key).
    /// </summary>
    public string SigningKey { get; set; } = "";

    /// <summary>How long an access token is valid.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan AccessTokenLifetime { get; set; } = TimeSpan.FromMinutes(15);

    /// <summary>
    /// How often an edge reads the revocation log again for sessions ended while it did not hear the broadcast (its
    /// connection to the cluster was down, or the stream lost the event): their tokens are refused and their connections
    /// closed at the latest this long after. The broadcast is the fast path; this is the bound.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan RevocationRecheckInterval { get; set; } = TimeSpan.FromMinutes(1);

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
    /// <c>X-Api-Key</c>). Empty disables those endpoints; otherwise at least <see cref="MinAdminApiKeyLength"/> characters.
    /// <c>deploy/run.sh</c> makes and prints a development key.
    /// </summary>
    public string AdminApiKey { get; set; } = "";

    /// <summary>
    /// Whether access tokens issued over a long connection (TCP <c>CONNECTION_TOKEN</c>) die with that connection: each is
    /// a session of its own, revoked everywhere when the connection closes. Otherwise they live as long as the login.
    /// </summary>
    public bool ConnectionTokensDieWithConnection { get; set; } = true;

    /// <summary>Failed logins per account per window before further attempts are refused.</summary>
    public int LoginFailuresPerAccount { get; set; } = 5;

    /// <summary>
    /// Logins per account per window, right password or not: each costs a slow hash and a session written to the account
    /// (and past its session limit, an eviction told to every edge host), so a client that signs in again and again with
    /// the right password is held too. Renewals go by refresh, not login.
    /// </summary>
    public int LoginsPerAccount { get; set; } = 20;

    /// <summary>
    /// Failed login attempts per client address per window (attempts still being checked count until they succeed).
    /// </summary>
    public int LoginAttemptsPerAddress { get; set; } = 30;

    /// <summary>
    /// Refused refreshes per client address per window, whichever users they name: a bound on the account grains that
    /// made-up tokens from one address activate. Far above <see cref="LoginAttemptsPerAddress"/>, which bounds them per
    /// user behind an address: a client retrying a dead token behind a carrier's NAT must not cost everyone else behind
    /// it their renewals.
    /// </summary>
    public int RefreshFailuresPerAddress { get; set; } = 600;

    /// <summary>The login rate window.</summary>
    [TimeSpanRange("00:00:01", "1.00:00:00")]
    public TimeSpan LoginRateWindow { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>Rules between options, checked at start once each is within its own bounds.</summary>
    public IEnumerable<ValidationResult> Validate(ValidationContext validationContext)
    {
        // The key itself is never echoed: the message ends up in logs.
        if (AdminApiKey.Length is > 0 and < MinAdminApiKeyLength)
        {
            yield return new ValidationResult(
                $"must be at least {MinAdminApiKeyLength} characters (it has {AdminApiKey.Length}), or empty to turn the admin and system API off; " +
                "make one with: head -c 24 /dev/urandom | base64",
                [nameof(AdminApiKey)]);
        }
    }
}
