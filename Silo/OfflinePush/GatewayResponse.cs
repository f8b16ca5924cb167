namespace Orleans.Im.Silo.OfflinePush;

/// <summary>The push gateway's answer (optional): tokens their push service refused for good, to be forgotten.</summary>
public sealed record GatewayResponse(IReadOnlyList<GatewayRejection?>? Rejected);
