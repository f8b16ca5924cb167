namespace Orleans.Im.Silo.OfflinePush;

/// <summary>What the silo posts to the push gateway: a batch of notifications (docs/OPERATIONS.md, "Offline push").</summary>
public sealed record GatewayRequest(IReadOnlyList<GatewayNotification> Notifications);
