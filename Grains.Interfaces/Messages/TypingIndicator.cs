namespace Orleans.Im.Messages;

/// <summary>
/// Typing is an instant message (pushed, never stored) of custom type <see cref="CustomType"/>; edges show it to
/// devices as a typing event of their protocol.
/// </summary>
public static class TypingIndicator
{
    /// <summary>The custom type of a typing message.</summary>
    public const string CustomType = "im.typing";

    /// <summary>The content of a typing message.</summary>
    public static MessageContent Content { get; } = new(ContentType.Custom, CustomType: CustomType);
}
