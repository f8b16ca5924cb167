using Orleans.Im.Push;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>What the silo posts to the push gateway: a batch of notifications (docs/OPERATIONS.md, "Offline push").</summary>
public sealed record GatewayRequest(IReadOnlyList<OfflineNotification> Notifications);
