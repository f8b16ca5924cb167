using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>A message body: set the fields its type uses (media as a URL plus metadata; thumbnail as base64).</summary>
public sealed record ContentBody(ContentType Type, string? Text = null, string? Url = null, string? MimeType = null, long? SizeBytes = null, int? Width = null, int? Height = null, int? DurationMs = null, string? FileName = null, string? Thumbnail = null, double? Latitude = null, double? Longitude = null, string? LocationName = null, string? CustomType = null, string? CustomData = null, long? ReplyToSeq = null);
