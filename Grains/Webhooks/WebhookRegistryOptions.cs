namespace Orleans.Im.Webhooks;

/// <summary>What the webhook registry accepts; set by the silo from <c>IM:Webhooks</c> (see <see cref="WebhookAddresses"/>).</summary>
public sealed class WebhookRegistryOptions
{
    /// <summary>Accept URLs whose host is a private network address (RFC 1918, unique local, carrier-grade NAT). On by default.</summary>
    public bool AllowPrivateNetworks { get; set; } = true;

    /// <summary>Accept URLs on loopback, link-local or unspecified addresses, or <c>localhost</c> (development, tests). Off by default.</summary>
    public bool AllowLocalAddresses { get; set; }
}
