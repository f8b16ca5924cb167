namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A registered webhook. The secret is shown whole only in the answer to the registration.</summary>
public sealed record WebhookView(string Id, string Url, string[] Classes, string Secret, DateTimeOffset CreatedAt, string? Description);
