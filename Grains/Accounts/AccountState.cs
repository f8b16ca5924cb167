namespace Orleans.Im.Accounts;

/// <summary>An account in grain state: small and rarely written (logins, refreshes, blocks).</summary>
[GenerateSerializer, Alias("im.AccountState")]
public sealed class AccountState
{
    [Id(0)]
    public bool Exists { get; set; }

    [Id(1)]
    public string? PasswordHash { get; set; }

    [Id(2)]
    public List<AccountRole> Roles { get; set; } = [];

    [Id(3)]
    public bool Disabled { get; set; }

    [Id(4)]
    public Dictionary<string, LoginSession> Sessions { get; set; } = new(StringComparer.Ordinal);

    [Id(5)]
    public HashSet<string> Blocked { get; set; } = new(StringComparer.Ordinal);

    [Id(6)]
    public DateTimeOffset CreatedAt { get; set; }

    /// <summary>Shop accounts: the agents who answer for the shop.</summary>
    [Id(7)]
    public List<string> Agents { get; set; } = [];

    /// <summary>
    /// Ended sessions not yet announced to the edges when the state was written (oldest first): a new activation
    /// announces them, in case the one that ended them went before it could.
    /// </summary>
    [Id(8)]
    public List<SessionRevoked> Unannounced { get; set; } = [];

    /// <summary>Who may put this user into a group without asking.</summary>
    [Id(9)]
    public GroupAddPolicy GroupAdds { get; set; }

    /// <summary>
    /// Created, and the user's profile (its display name) not yet written: a creation retried after that write failed
    /// finishes it rather than answering "exists" for an account nobody can look up.
    /// </summary>
    [Id(10)]
    public bool ProfilePending { get; set; }
}
