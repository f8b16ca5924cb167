namespace Orleans.Im.Messages;

/// <summary>A media attachment: where it is and what it is. The bytes live elsewhere (object storage, CDN).</summary>
/// <param name="Url">Where the media can be fetched.</param>
/// <param name="MimeType">The media type, e.g. <c>image/jpeg</c>.</param>
/// <param name="SizeBytes">The size of the media at <paramref name="Url"/>.</param>
/// <param name="Width">Pixels, for images and video.</param>
/// <param name="Height">Pixels, for images and video.</param>
/// <param name="DurationMs">Voice and video length.</param>
/// <param name="FileName">The original file name, for files.</param>
/// <param name="Thumbnail">A small preview image, at most <see cref="MessageLimits.MaxThumbnailBytes"/>.</param>
[GenerateSerializer, Immutable, Alias("im.MediaInfo")]
public sealed record MediaInfo(
    [property: Id(0)] string Url,
    [property: Id(1)] string MimeType,
    [property: Id(2)] long SizeBytes,
    [property: Id(3)] int? Width = null,
    [property: Id(4)] int? Height = null,
    [property: Id(5)] int? DurationMs = null,
    [property: Id(6)] string? FileName = null,
    [property: Id(7)] byte[]? Thumbnail = null);
