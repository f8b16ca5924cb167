namespace Orleans.Im.Webhooks;

/// <summary>The stored registrations of the webhook registry.</summary>
[GenerateSerializer, Alias("im.WebhookRegistryState")]
public sealed class WebhookRegistryState
{
    [Id(0)]
    public List<WebhookRegistration> Webhooks { get; set; } = [];
}
