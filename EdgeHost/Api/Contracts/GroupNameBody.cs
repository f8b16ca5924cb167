namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A group's new name: 1-100 characters.</summary>
public sealed record GroupNameBody(string? Name);
