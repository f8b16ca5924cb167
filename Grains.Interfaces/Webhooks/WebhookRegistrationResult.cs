using Orleans.Im.Messages;

namespace Orleans.Im.Webhooks;

/// <summary>The outcome of a registration: the stored registration (with its secret), or why not.</summary>
[GenerateSerializer, Immutable, Alias("im.WebhookRegistrationResult")]
public sealed record WebhookRegistrationResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] WebhookRegistration? Registration,
    [property: Id(2)] string? Error = null);
