namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Signs in a user's device.</summary>
public sealed record LoginBody(string UserId, string Password, string? DeviceId = null, string? Platform = null);
