namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A department to create or replace (admin API).</summary>
public sealed record DepartmentBody(string Name, string? ParentId, IReadOnlyList<string>? MemberIds);
