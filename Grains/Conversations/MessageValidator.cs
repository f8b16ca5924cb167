using System.Text;
using Orleans.Im.Groups;
using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>Checks a message before it is stored: well-formed for its type, and within the size limits.</summary>
public static class MessageValidator
{
    /// <summary>Null when the content may be sent; otherwise the status and a reason.</summary>
    public static (SendStatus Status, string Error)? Validate(MessageContent? content)
    {
        if (content is null)
        {
            return (SendStatus.Invalid, "content is required");
        }

        if (!IsStorable(content))
        {
            return (SendStatus.Invalid, "text fields must not hold a NUL character or half of a surrogate pair");
        }

        if (content.CustomType?.StartsWith(GroupNotices.Prefix, StringComparison.Ordinal) == true)
        {
            // Only the group posts its notices, whatever type a message claims: a member's forged "the owner made me an
            // admin" would read as the real one (clients show the custom type as a notice).
            return (SendStatus.Invalid, $"custom types starting with {GroupNotices.Prefix} are the server's");
        }

        if (content.Location is { } place && (!double.IsFinite(place.Latitude) || !double.IsFinite(place.Longitude)))
        {
            // Whatever the type: JSON, and so the log's jsonb column, has no NaN or infinity.
            return (SendStatus.Invalid, "a location needs finite coordinates");
        }

        if (content.ReplyToSeq is < 1)
        {
            return (SendStatus.Invalid, "a reply names the seq of an earlier message (1 or more)");
        }

        if (content.Media?.Thumbnail is { Length: > MessageLimits.MaxThumbnailBytes })
        {
            return (SendStatus.TooLarge, $"thumbnail over {MessageLimits.MaxThumbnailBytes} bytes");
        }

        if (SizeOf(content) > MessageLimits.MaxContentBytes)
        {
            return (SendStatus.TooLarge, $"content over {MessageLimits.MaxContentBytes} bytes");
        }

        return content.Type switch
        {
            ContentType.Text when string.IsNullOrWhiteSpace(content.Text) => (SendStatus.Invalid, "a text message needs text"),
            ContentType.Image or ContentType.Voice or ContentType.Video or ContentType.File when !IsValidMedia(content.Media) =>
                (SendStatus.Invalid, "a media message needs media with an http(s) URL, a MIME type and a size"),
            ContentType.Location when content.Location is not { Latitude: >= -90 and <= 90, Longitude: >= -180 and <= 180 } =>
                (SendStatus.Invalid, "a location message needs a latitude and longitude in range"),
            ContentType.Custom when string.IsNullOrWhiteSpace(content.CustomType) => (SendStatus.Invalid, "a custom message needs a custom type"),
            ContentType.Text or ContentType.Image or ContentType.Voice or ContentType.Video or ContentType.File
                or ContentType.Location or ContentType.Custom => null,
            _ => (SendStatus.Invalid, "unknown content type"),
        };
    }

    /// <summary>The size counted against <see cref="MessageLimits.MaxContentBytes"/>: text fields as UTF-8, plus the thumbnail.</summary>
    public static int SizeOf(MessageContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var size = Utf8(content.Text) + Utf8(content.CustomType) + Utf8(content.CustomData) + Utf8(content.Location?.Name);
        if (content.Media is { } media)
        {
            size += Utf8(media.Url) + Utf8(media.MimeType) + Utf8(media.FileName) + (media.Thumbnail?.Length ?? 0);
        }

        return size;
    }

    // Checked here, with the rest of the content, because PostgreSQL would refuse the whole group-commit batch that holds it.
    private static bool IsStorable(MessageContent content) =>
        StorableText.IsStorable(content.Text) && StorableText.IsStorable(content.CustomType) && StorableText.IsStorable(content.CustomData)
        && StorableText.IsStorable(content.Location?.Name)
        && (content.Media is not { } media
            || (StorableText.IsStorable(media.Url) && StorableText.IsStorable(media.MimeType) && StorableText.IsStorable(media.FileName)));

    private static bool IsValidMedia(MediaInfo? media) =>
        media is not null
        && Uri.TryCreate(media.Url, UriKind.Absolute, out var url)
        && (url.Scheme == Uri.UriSchemeHttps || url.Scheme == Uri.UriSchemeHttp)
        && !string.IsNullOrWhiteSpace(media.MimeType)
        && media.SizeBytes >= 0;

    private static int Utf8(string? text) => text is null ? 0 : Encoding.UTF8.GetByteCount(text);
}
