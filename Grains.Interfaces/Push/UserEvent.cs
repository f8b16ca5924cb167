namespace Orleans.Im.Push;

/// <summary>
/// Something pushed to all devices of a user. Every event names the conversation and a seq, so that a device can
/// tell a gap and pull what it missed: push is a hint, the log is the truth.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.UserEvent")]
public abstract record UserEvent(
    [property: Id(0)] string ConversationId,
    [property: Id(1)] long Seq);
