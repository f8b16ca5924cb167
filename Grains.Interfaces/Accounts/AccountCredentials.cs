namespace Orleans.Im.Accounts;

/// <summary>What the edge needs to check a login: the password hash (checked on the edge, not in the silo), roles, state.</summary>
[GenerateSerializer, Immutable, Alias("im.AccountCredentials")]
public sealed record AccountCredentials(
    [property: Id(0)] string? PasswordHash,
    [property: Id(1)] IReadOnlyList<AccountRole> Roles,
    [property: Id(2)] bool Disabled);
