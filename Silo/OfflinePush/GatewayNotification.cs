using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>One notification as the push gateway gets it (camelCase JSON, enums as camelCase strings, nulls left out).</summary>
public sealed record GatewayNotification(
    string UserId,
    string DeviceId,
    string Provider,
    string Token,
    string ConversationId,
    ConversationKind Kind,
    long Seq,
    string SenderId,
    ContentType? ContentType,
    string? Preview,
    long Badge,
    bool Mentioned,
    string? CollapseKey,
    DateTimeOffset ServerTime);
