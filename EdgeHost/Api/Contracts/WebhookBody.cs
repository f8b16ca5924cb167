namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// A webhook to register (admin API): where to POST, which event classes (wire names: <c>message</c>, <c>recall</c>,
/// <c>edit</c>, <c>read</c>, <c>presence</c>, <c>mention</c>, <c>group</c>, <c>cs</c>), and optionally the HMAC secret.
/// </summary>
public sealed record WebhookBody(string Url, IReadOnlyList<string> Classes, string? Secret, string? Description);
