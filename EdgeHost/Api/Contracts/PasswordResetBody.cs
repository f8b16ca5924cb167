namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A password set by an administrator (admin API).</summary>
public sealed record PasswordResetBody(string Password);
