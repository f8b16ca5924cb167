namespace Orleans.Im.Events;

/// <summary>The Redis stream keys of the firehose: one per <see cref="EventClass"/>, plus the webhooks' dead letters.</summary>
public static class FirehoseStreams
{
    /// <summary>The prefix every firehose stream key starts with.</summary>
    public const string Prefix = "im:events:";

    /// <summary>Webhook deliveries that failed every attempt.</summary>
    public const string DeadLetter = Prefix + "dead-letter";

    /// <summary>All event classes, in a fixed order.</summary>
    public static IReadOnlyList<EventClass> Classes { get; } = Enum.GetValues<EventClass>();

    /// <summary>The stream key of an event class, e.g. <c>im:events:message</c>.</summary>
    public static string For(EventClass eventClass) => Prefix + NameOf(eventClass);

    /// <summary>The wire name of an event class, as written in the <c>class</c> field and the stream key.</summary>
    public static string NameOf(EventClass eventClass) => eventClass switch
    {
        EventClass.Message => "message",
        EventClass.Recall => "recall",
        EventClass.Edit => "edit",
        EventClass.Read => "read",
        EventClass.Presence => "presence",
        EventClass.Mention => "mention",
        EventClass.Group => "group",
        EventClass.CustomerService => "cs",
        _ => throw new ArgumentOutOfRangeException(nameof(eventClass), eventClass, "unknown event class"),
    };

    /// <summary>Parses a wire name back to its class.</summary>
    public static bool TryParse(string? name, out EventClass eventClass)
    {
        foreach (var candidate in Classes)
        {
            if (NameOf(candidate) == name)
            {
                eventClass = candidate;
                return true;
            }
        }

        eventClass = default;
        return false;
    }
}
