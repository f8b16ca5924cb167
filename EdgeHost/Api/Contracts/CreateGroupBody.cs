namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A new group: its name and first members (the caller becomes owner).</summary>
public sealed record CreateGroupBody(string Name, IReadOnlyList<string>? MemberIds = null);
