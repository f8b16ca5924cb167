using System.Text.Json.Serialization;
using Orleans.Im.Groups;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A member's new role (required: a body without it, or with a misspelt field, is refused, not taken as member).</summary>
[JsonUnmappedMemberHandling(JsonUnmappedMemberHandling.Disallow)]
public sealed record RoleBody(GroupRole? Role);
