namespace Orleans.Im.Silo.OfflinePush;

/// <summary>A device token the push service refused for good (the app was uninstalled, the token is stale).</summary>
public sealed record GatewayRejection(string? UserId, string? DeviceId, string? Token);
