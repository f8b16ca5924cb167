namespace Orleans.Im.Messages;

/// <summary>What became of a message after it was sent. Its seq always stays, so receivers see no gaps.</summary>
[GenerateSerializer, Alias("im.MessageState")]
public enum MessageState
{
    /// <summary>As sent.</summary>
    Normal = 0,

    /// <summary>The sender edited it; the content is the latest revision.</summary>
    Edited = 1,

    /// <summary>Recalled: a tombstone with no content.</summary>
    Recalled = 2,

    /// <summary>Deleted by the user who pulls it, for that user only: no content.</summary>
    Deleted = 3,

    /// <summary>A notification superseded by a later one with the same collapse key: no content.</summary>
    Collapsed = 4,
}
