using Orleans.Im.Groups;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A member's new role.</summary>
public sealed record RoleBody(GroupRole Role);
