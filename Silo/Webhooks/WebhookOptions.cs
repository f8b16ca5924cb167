using Orleans.Im.Hosting;

namespace Orleans.Im.Silo.Webhooks;

/// <summary>Webhook deliveries (<c>IM:Webhooks</c>); registrations are made through the admin API.</summary>
public sealed class WebhookOptions
{
    public const string Section = "IM:Webhooks";

    /// <summary>Settings earlier releases had, still taken (and ignored) so that an upgraded host starts: AllowPrivateAddresses (split into AllowPrivateNetworks and AllowLocalAddresses).</summary>
    public static readonly IReadOnlyCollection<string> RetiredKeys = ["AllowPrivateAddresses"];

    /// <summary>Off: this silo delivers no webhooks (other silos still may).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Attempts per event before it goes to the dead-letter stream (at least one: zero dead-lettered every event unsent).</summary>
    [CountRange(1, 100)]
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The pause after the first failure; it doubles after each further failure, up to <see cref="MaxRetryDelay"/>.</summary>
    [TimeSpanRange("00:00:00.010", "01:00:00")]
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    [TimeSpanRange("00:00:00.010", "1.00:00:00")]
    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long one HTTP attempt may take.</summary>
    [TimeSpanRange("00:00:00.100", "00:10:00")]
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>
    /// Deliveries of one webhook this silo makes at a time (each a consumer of the webhook's group): a receiver that takes
    /// 30 ms per request gets ~33 events/s from one, and a busy deployment's events would outrun it for good. Events of a
    /// conversation may then arrive out of order, as they may with several silos: receivers order by seq.
    /// </summary>
    [CountRange(1, 64)]
    public int Concurrency { get; set; } = 4;

    /// <summary>How often the silo looks for new or removed registrations (and measures each webhook's lag).</summary>
    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>
    /// Allow webhooks on private network addresses (RFC 1918, unique local, carrier-grade NAT): where an on-premise
    /// installation's own systems receive them. On by default; off, such URLs are refused at registration and a delivery
    /// whose host name resolves only to them fails without connecting.
    /// </summary>
    public bool AllowPrivateNetworks { get; set; } = true;

    /// <summary>
    /// Allow webhooks on loopback, link-local and unspecified addresses, and <c>localhost</c> (development, tests). Off by
    /// default: the silo must not be made to call itself or the cloud's metadata service (169.254.169.254).
    /// </summary>
    public bool AllowLocalAddresses { get; set; }

    /// <summary>The dead-letter stream is trimmed to about this many entries.</summary>
    [CountRange(1, 100_000_000)]
    public int DeadLetterMaxLength { get; set; } = 100_000;
}
