namespace Orleans.Im.Webhooks;

/// <summary>What the webhook registry accepts; set by the silo from <c>IM:Webhooks</c>.</summary>
public sealed class WebhookRegistryOptions
{
    /// <summary>
    /// Accept URLs whose host is a loopback, link-local, private or unspecified address (tests, on-premise receivers).
    /// Off by default: see <see cref="WebhookAddresses"/>.
    /// </summary>
    public bool AllowPrivateAddresses { get; set; }
}
