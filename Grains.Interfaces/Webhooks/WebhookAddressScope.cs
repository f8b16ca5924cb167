namespace Orleans.Im.Webhooks;

/// <summary>Where an address a webhook would be delivered to lies, for what a deployment allows (see <see cref="WebhookAddresses"/>).</summary>
public enum WebhookAddressScope
{
    /// <summary>On the public internet.</summary>
    Public,

    /// <summary>
    /// A private network (RFC 1918, unique local, carrier-grade NAT, site-local): where an on-premise installation's own
    /// systems usually receive their webhooks; allowed unless <c>IM:Webhooks:AllowPrivateNetworks</c> is off.
    /// </summary>
    PrivateNetwork,

    /// <summary>
    /// The silo's own host or link: loopback, link-local (the cloud's metadata service, 169.254.169.254) and unspecified
    /// addresses; refused unless <c>IM:Webhooks:AllowLocalAddresses</c> is on (development, tests).
    /// </summary>
    Local,

    /// <summary>Multicast, broadcast and reserved addresses: never a receiver.</summary>
    Never,
}
