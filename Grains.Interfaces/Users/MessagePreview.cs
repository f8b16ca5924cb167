using Orleans.Im.Messages;

namespace Orleans.Im.Users;

/// <summary>The last message of a conversation as a list shows it.</summary>
/// <param name="Seq">Its seq.</param>
/// <param name="SenderId">Who sent it.</param>
/// <param name="Type">Its content type (null when recalled).</param>
/// <param name="Text">The text, cut to <see cref="MessageLimits.MaxPreviewLength"/>, or a caption; null for media without caption.</param>
/// <param name="ServerTime">When it was sent.</param>
/// <param name="State">Normal, edited, recalled…</param>
/// <param name="CustomType">Custom messages: the application's (or the server's, a group's notice) name for the payload.</param>
[GenerateSerializer, Immutable, Alias("im.MessagePreview")]
public sealed record MessagePreview(
    [property: Id(0)] long Seq,
    [property: Id(1)] string SenderId,
    [property: Id(2)] ContentType? Type,
    [property: Id(3)] string? Text,
    [property: Id(4)] DateTimeOffset ServerTime,
    [property: Id(5)] MessageState State,
    [property: Id(6)] string? CustomType = null);
