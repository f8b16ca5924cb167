using Orleans.Im.Events;

namespace Orleans.Im.Webhooks;

/// <summary>An HTTP endpoint of another system that receives chosen event classes of the firehose, signed with its secret.</summary>
[GenerateSerializer, Immutable, Alias("im.WebhookRegistration")]
public sealed record WebhookRegistration(
    [property: Id(0)] string Id,
    [property: Id(1)] string Url,
    [property: Id(2)] EventClass[] Classes,
    [property: Id(3)] string Secret,
    [property: Id(4)] DateTimeOffset CreatedAt,
    [property: Id(5)] string? Description = null);
