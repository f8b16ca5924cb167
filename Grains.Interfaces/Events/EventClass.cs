namespace Orleans.Im.Events;

/// <summary>
/// The classes of firehose events. Each class has its own Redis stream (<see cref="FirehoseStreams.For"/>), so a
/// consumer reads only what it cares about and one busy class cannot push another's entries out of the trim window.
/// </summary>
public enum EventClass
{
    /// <summary>A message was durably stored (persistent and notification classes; instant messages are not logged and not published).</summary>
    Message = 0,

    /// <summary>A message was recalled.</summary>
    Recall = 1,

    /// <summary>A message was edited.</summary>
    Edit = 2,

    /// <summary>A user's read position in a conversation moved.</summary>
    Read = 3,

    /// <summary>A user's announced presence changed (online, away, offline).</summary>
    Presence = 4,

    /// <summary>Users were mentioned in a message.</summary>
    Mention = 5,

    /// <summary>A group was created, or its membership or roles changed.</summary>
    Group = 6,

    /// <summary>A customer-service session changed (queued, assigned, transferred, closed, rated).</summary>
    CustomerService = 7,
}
