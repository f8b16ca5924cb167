namespace Orleans.Im.Messages;

/// <summary>
/// Typing is an instant message (pushed, never stored) of custom type <see cref="CustomType"/>; edges show it to
/// devices as a typing event of their protocol, with <see cref="ExpiresAfter"/> so that a client clears it by itself.
/// </summary>
public static class TypingIndicator
{
    /// <summary>The custom type of a typing message.</summary>
    public const string CustomType = "im.typing";

    /// <summary>
    /// A conversation forwards at most one typing indicator per sender in this interval; more are accepted and dropped,
    /// so a client may send one per keystroke without flooding the other members.
    /// </summary>
    public static readonly TimeSpan ThrottleInterval = TimeSpan.FromSeconds(3);

    /// <summary>
    /// How long a device shows "typing" after an indicator unless another arrives: longer than
    /// <see cref="ThrottleInterval"/>, so that a user who keeps typing shows as typing without gaps.
    /// </summary>
    public static readonly TimeSpan ExpiresAfter = TimeSpan.FromSeconds(6);

    /// <summary>The content of a typing message.</summary>
    public static MessageContent Content { get; } = new(ContentType.Custom, CustomType: CustomType);

    /// <summary>True when <paramref name="content"/> is a typing indicator.</summary>
    public static bool Is(MessageContent? content) => content is { Type: ContentType.Custom, CustomType: CustomType };
}
