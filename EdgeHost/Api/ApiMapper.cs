using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;
using Orleans.Im.Users;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>The one place where the HTTP API's JSON contracts and the domain's records are mapped, both ways.</summary>
public static class ApiMapper
{
    /// <summary>The domain content, or null when a field cannot be read (a thumbnail that is not base64).</summary>
    public static MessageContent? ToDomain(ContentBody? body)
    {
        if (body is null)
        {
            return null;
        }

        byte[]? thumbnail = null;
        if (body.Thumbnail is { Length: > 0 } base64 && !TryBase64(base64, out thumbnail))
        {
            return null;
        }

        var media = body.Url is null
            ? null
            : new MediaInfo(body.Url, body.MimeType ?? "", body.SizeBytes ?? 0, body.Width, body.Height, body.DurationMs, body.FileName, thumbnail);
        var location = body.Latitude is { } latitude && body.Longitude is { } longitude ? new GeoLocation(latitude, longitude, body.LocationName) : null;
        return new MessageContent(body.Type, body.Text, media, location, body.CustomType, body.CustomData, body.ReplyToSeq);
    }

    public static ContentBody ToBody(MessageContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        return new ContentBody(content.Type, content.Text, content.Media?.Url, content.Media?.MimeType, content.Media?.SizeBytes,
            content.Media?.Width, content.Media?.Height, content.Media?.DurationMs, content.Media?.FileName,
            content.Media?.Thumbnail is { } thumbnail ? Convert.ToBase64String(thumbnail) : null,
            content.Location?.Latitude, content.Location?.Longitude, content.Location?.Name, content.CustomType, content.CustomData, content.ReplyToSeq);
    }

    public static MessageView ToView(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return new MessageView(message.ConversationId, message.Seq, message.ClientMsgId, message.SenderId, message.SenderDeviceId,
            message.ServerTime, message.Class, message.State, message.Revision, message.Content is null ? null : ToBody(message.Content), message.CollapseKey,
            message.SenderName, message.ActingSenderId, message.Mentions is { } mentions ? [.. mentions] : null, message.RevisedAt);
    }

    public static HistoryResponse ToView(PullResult pull)
    {
        ArgumentNullException.ThrowIfNull(pull);
        return new HistoryResponse(pull.Messages.Select(ToView).ToList(), pull.LastSeq, pull.HistoryStartsAfterSeq);
    }

    public static ChangesResponse ToView(ChangesResult changes)
    {
        ArgumentNullException.ThrowIfNull(changes);
        return new ChangesResponse(changes.Messages.Select(ToView).ToList(), changes.HasMore);
    }

    public static ConversationView ToView(ConversationEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        return new ConversationView(entry.ConversationId, entry.Kind, entry.LastSeq, entry.ReadSeq, entry.UnreadCount, entry.LastMessage,
            entry.Muted, entry.Pinned, entry.Hidden, entry.Draft, entry.Mentioned, entry.Removed, entry.Version, entry.PeerReadSeq, entry.MentionSeq,
            entry.ChangedAt);
    }

    private static bool TryBase64(string text, out byte[]? bytes)
    {
        var buffer = new byte[(text.Length * 3 / 4) + 3];
        if (Convert.TryFromBase64String(text, buffer, out var written))
        {
            bytes = buffer[..written];
            return true;
        }

        bytes = null;
        return false;
    }
}
