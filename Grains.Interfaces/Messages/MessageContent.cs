namespace Orleans.Im.Messages;

/// <summary>The body of a message. Which fields are set depends on <see cref="Type"/>.</summary>
/// <param name="Type">What the message carries.</param>
/// <param name="Text">Text messages; also a caption for media.</param>
/// <param name="Media">Image, voice, video and file messages.</param>
/// <param name="Location">Location messages.</param>
/// <param name="CustomType">Custom messages: the application's name for the payload.</param>
/// <param name="CustomData">Custom messages: the payload (typically JSON).</param>
/// <param name="ReplyToSeq">
/// A reply: the seq of the earlier message of the same conversation this one answers (any type may reply). Clients show
/// the quoted message as it is now — edited, recalled, deleted for them — from what they hold, pulling it when they do
/// not; the server keeps no copy of it. An edit keeps what a message replies to.
/// </param>
[GenerateSerializer, Immutable, Alias("im.MessageContent")]
public sealed record MessageContent(
    [property: Id(0)] ContentType Type,
    [property: Id(1)] string? Text = null,
    [property: Id(2)] MediaInfo? Media = null,
    [property: Id(3)] GeoLocation? Location = null,
    [property: Id(4)] string? CustomType = null,
    [property: Id(5)] string? CustomData = null,
    [property: Id(6)] long? ReplyToSeq = null)
{
    /// <summary>A text message.</summary>
    public static MessageContent FromText(string text) => new(ContentType.Text, text);
}
