namespace Orleans.Im.Accounts;

/// <summary>An account to create. The password arrives already hashed (a salted, slow hash made by the edge).</summary>
[GenerateSerializer, Immutable, Alias("im.NewAccount")]
public sealed record NewAccount(
    [property: Id(0)] string DisplayName,
    [property: Id(1)] string? PasswordHash,
    [property: Id(2)] IReadOnlyList<AccountRole> Roles);
