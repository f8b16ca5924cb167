namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>What a client's request costs from its connection's <see cref="RequestBudget"/>; each transport maps its operations to these.</summary>
public static class RequestCosts
{
    /// <summary>
    /// Not counted: logins and heartbeats (a connection's own upkeep, nothing reaches the cluster), and sends of stored
    /// messages, which have a per-user rate of their own (<see cref="EdgeOptions.UserSendRatePerSecond"/>) and the
    /// conversation grains' limit.
    /// </summary>
    public const int Free = 0;

    /// <summary>Any other request: one grain call, sometimes a storage read or write.</summary>
    public const int Default = 1;

    /// <summary>
    /// Typing, and any send of an instant message: not under the user's send rate (a client may send one per keystroke,
    /// and the conversation grain throttles what it passes on), but each is a grain call, to a conversation the grain may
    /// have to load first.
    /// </summary>
    public const int InstantMessage = 1;

    /// <summary>
    /// A connection token starts a session of the account's (a storage write) that ends with the connection, or evicts
    /// an older one past the account's cap; each end is announced to every edge host. Dear, so that a client asking in a
    /// loop gets one or two a second rather than <see cref="EdgeOptions.RequestsPerSecond"/>.
    /// </summary>
    public const int ConnectionToken = 25;
}
