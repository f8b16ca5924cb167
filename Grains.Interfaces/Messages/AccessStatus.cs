namespace Orleans.Im.Messages;

/// <summary>The outcome of an operation on a conversation other than send.</summary>
[GenerateSerializer, Alias("im.AccessStatus")]
public enum AccessStatus
{
    /// <summary>Done.</summary>
    Ok = 0,

    /// <summary>No such conversation, or the caller is not a member: the two look the same on purpose.</summary>
    NoAccess = 1,

    /// <summary>A member asked for a message that does not exist.</summary>
    NotFound = 2,

    /// <summary>A member may not do this: not the sender, past the recall or edit window, lacking the role.</summary>
    NotAllowed = 3,

    /// <summary>The request is malformed or over a limit.</summary>
    Invalid = 4,

    /// <summary>Storage could not commit; nothing changed. Retry.</summary>
    Unavailable = 5,

    /// <summary>Already so (a group that exists, a member already added).</summary>
    Conflict = 6,
}
