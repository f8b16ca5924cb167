using Orleans.Concurrency;
using Orleans.Im.Events;

namespace Orleans.Im.Webhooks;

/// <summary>
/// The webhooks of the deployment. Key: <see cref="DefaultKey"/>. Silos read it to run one firehose consumer group per
/// webhook (<c>webhook:{id}</c>), which starts at the registration time.
/// </summary>
[Alias("im.IWebhookRegistryGrain")]
public interface IWebhookRegistryGrain : IGrainWithStringKey
{
    /// <summary>The key of the deployment's registry.</summary>
    const string DefaultKey = "webhooks";

    /// <summary>Registers an absolute http(s) URL for the given classes; a secret is generated when none is given.</summary>
    [Alias("Register")]
    Task<WebhookRegistrationResult> RegisterAsync(string url, EventClass[] classes, string? secret, string? description);

    /// <summary>Removes a registration; false when there is none with this id.</summary>
    [Alias("Remove")]
    Task<bool> RemoveAsync(string id);

    /// <summary>Every registration, oldest first.</summary>
    [Alias("List"), ReadOnly]
    Task<WebhookRegistration[]> ListAsync();
}
