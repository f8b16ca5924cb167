namespace Orleans.Im.Webhooks;

/// <summary>Bounds of webhook registrations.</summary>
public static class WebhookLimits
{
    /// <summary>Registrations per deployment: each one is a consumer group read by every silo.</summary>
    public const int MaxWebhooks = 50;

    /// <summary>The longest URL accepted.</summary>
    public const int MaxUrlLength = 2_000;

    /// <summary>The longest free-text description.</summary>
    public const int MaxDescriptionLength = 200;

    /// <summary>A secret chosen by the caller must be at least this long (one is generated otherwise).</summary>
    public const int MinSecretLength = 16;

    /// <summary>The longest secret accepted.</summary>
    public const int MaxSecretLength = 200;
}
