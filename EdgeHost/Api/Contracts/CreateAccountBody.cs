using Orleans.Im.Accounts;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>An account to create (admin API).</summary>
public sealed record CreateAccountBody(string UserId, string DisplayName, string? Password, IReadOnlyList<AccountRole>? Roles = null);
