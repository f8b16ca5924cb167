namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A token another system wants checked.</summary>
public sealed record VerifyBody(string Token);
