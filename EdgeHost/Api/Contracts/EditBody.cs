namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>New content for a message.</summary>
public sealed record EditBody(ContentBody Content);
