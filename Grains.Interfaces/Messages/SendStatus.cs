namespace Orleans.Im.Messages;

/// <summary>The outcome of a send. Only <see cref="Sent"/> and <see cref="Duplicate"/> carry a seq.</summary>
[GenerateSerializer, Alias("im.SendStatus")]
public enum SendStatus
{
    /// <summary>Durably stored (or, for instant messages, pushed) under the returned seq and time.</summary>
    Sent = 0,

    /// <summary>A retry of a message already stored: the original seq and time are returned, nothing new is stored.</summary>
    Duplicate = 1,

    /// <summary>No such conversation, or the sender is not a member: the two look the same on purpose.</summary>
    NoAccess = 2,

    /// <summary>The body is over <see cref="MessageLimits.MaxContentBytes"/> (or the thumbnail over its limit).</summary>
    TooLarge = 3,

    /// <summary>The request is malformed (missing client message id, content not matching its type…).</summary>
    Invalid = 4,

    /// <summary>The sender is sending faster than the conversation allows; retry later.</summary>
    RateLimited = 5,

    /// <summary>The message log could not commit (database unreachable): nothing was acked; retry with the same id.</summary>
    Unavailable = 6,

    /// <summary>The recipient blocks the sender (one-to-one conversations).</summary>
    Blocked = 7,

    /// <summary>Call signalling: the callee has no online device, so the signal reached nobody (nothing is stored).</summary>
    Offline = 8,
}
