namespace Orleans.Im.Messages;

/// <summary>Fixed limits of the message model. Limits that operators tune are options of the silo instead.</summary>
public static class MessageLimits
{
    /// <summary>The largest message body, counted as the UTF-8 bytes of its text fields plus the thumbnail.</summary>
    public const int MaxContentBytes = 16 * 1024;

    /// <summary>The largest thumbnail carried inline with media.</summary>
    public const int MaxThumbnailBytes = 8 * 1024;

    /// <summary>The longest client message id; clients use a UUID or similar.</summary>
    public const int MaxClientMsgIdLength = 64;

    /// <summary>The longest collapse key of a notification.</summary>
    public const int MaxCollapseKeyLength = 128;

    /// <summary>
    /// The most messages in one call to a conversation (<c>IConversationGrain.SendManyAsync</c>): one append of the log,
    /// and one grain call of bounded size.
    /// </summary>
    public const int MaxSendsPerCall = 64;

    /// <summary>The most messages one pull returns.</summary>
    public const int MaxPullLimit = 200;

    /// <summary>The longest preview of a message kept in a user's conversation entry, in characters.</summary>
    public const int MaxPreviewLength = 100;
}
