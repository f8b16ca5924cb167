namespace Orleans.Im.Messages;

/// <summary>The body of a message. Which fields are set depends on <see cref="Type"/>.</summary>
/// <param name="Type">What the message carries.</param>
/// <param name="Text">Text messages; also a caption for media.</param>
/// <param name="Media">Image, voice, video and file messages.</param>
/// <param name="Location">Location messages.</param>
/// <param name="CustomType">Custom messages: the application's name for the payload.</param>
/// <param name="CustomData">Custom messages: the payload (typically JSON).</param>
[GenerateSerializer, Immutable, Alias("im.MessageContent")]
public sealed record MessageContent(
    [property: Id(0)] ContentType Type,
    [property: Id(1)] string? Text = null,
    [property: Id(2)] MediaInfo? Media = null,
    [property: Id(3)] GeoLocation? Location = null,
    [property: Id(4)] string? CustomType = null,
    [property: Id(5)] string? CustomData = null)
{
    /// <summary>A text message.</summary>
    public static MessageContent FromText(string text) => new(ContentType.Text, text);
}
