namespace Orleans.Im.Users;

/// <summary>
/// The small, rarely changing part of a user that lives in grain state. The conversation index does not live here:
/// it changes with every message and is stored row by row (see <see cref="IConversationIndexStore"/>).
/// </summary>
[GenerateSerializer, Alias("im.UserState")]
public sealed class UserState
{
    [Id(0)]
    public UserProfile? Profile { get; set; }

    /// <summary>Friends are told of presence changes (opt-in).</summary>
    [Id(1)]
    public bool SharePresence { get; set; }

    /// <summary>When the last device left (after the grace).</summary>
    [Id(2)]
    public DateTimeOffset? LastSeen { get; set; }

    /// <summary>Customer service: the shops whose queues follow this agent's presence.</summary>
    [Id(3)]
    public HashSet<string> PresenceWatchingShops { get; set; } = new(StringComparer.Ordinal);

    /// <summary>Where devices are reached while not connected (their push services' tokens), by device id.</summary>
    [Id(4)]
    public Dictionary<string, PushTokenRegistration> PushTokens { get; set; } = new(StringComparer.Ordinal);
}
