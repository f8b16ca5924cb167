namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Users to add.</summary>
public sealed record MembersBody(IReadOnlyList<string> UserIds);
