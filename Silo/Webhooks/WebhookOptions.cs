namespace Orleans.Im.Silo.Webhooks;

/// <summary>Webhook deliveries (<c>IM:Webhooks</c>); registrations are made through the admin API.</summary>
public sealed class WebhookOptions
{
    public const string Section = "IM:Webhooks";

    /// <summary>Off: this silo delivers no webhooks (other silos still may).</summary>
    public bool Enabled { get; set; } = true;

    /// <summary>Attempts per event before it goes to the dead-letter stream.</summary>
    public int MaxAttempts { get; set; } = 8;

    /// <summary>The pause after the first failure; it doubles after each further failure, up to <see cref="MaxRetryDelay"/>.</summary>
    public TimeSpan FirstRetryDelay { get; set; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxRetryDelay { get; set; } = TimeSpan.FromMinutes(1);

    /// <summary>How long one HTTP attempt may take.</summary>
    public TimeSpan RequestTimeout { get; set; } = TimeSpan.FromSeconds(10);

    /// <summary>How often the silo looks for new or removed registrations.</summary>
    public TimeSpan RefreshInterval { get; set; } = TimeSpan.FromSeconds(5);

    /// <summary>The dead-letter stream is trimmed to about this many entries.</summary>
    public int DeadLetterMaxLength { get; set; } = 100_000;
}
