namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A shop to create (admin API): a virtual account users talk to, and the agents who answer for it.</summary>
public sealed record CreateShopBody(string ShopId, string DisplayName, IReadOnlyList<string>? AgentIds);
