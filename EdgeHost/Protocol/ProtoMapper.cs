using Google.Protobuf;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Users;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.EdgeHost.Protocol;

/// <summary>The one place where the wire's protobuf types and the domain's records are mapped, both ways.</summary>
public static class ProtoMapper
{
    public static MessageContent? ToDomain(V1.Content? content)
    {
        if (content is null)
        {
            return null;
        }

        var media = content.Media is null
            ? null
            : new MediaInfo(
                content.Media.Url,
                content.Media.MimeType,
                content.Media.SizeBytes,
                content.Media.HasWidth ? content.Media.Width : null,
                content.Media.HasHeight ? content.Media.Height : null,
                content.Media.HasDurationMs ? content.Media.DurationMs : null,
                content.Media.HasFileName ? content.Media.FileName : null,
                content.Media.Thumbnail.IsEmpty ? null : content.Media.Thumbnail.ToByteArray());
        var location = content.Location is null
            ? null
            : new GeoLocation(content.Location.Latitude, content.Location.Longitude, content.Location.HasName ? content.Location.Name : null);
        return new MessageContent(
            (ContentType)(int)content.Type,
            content.HasText ? content.Text : null,
            media,
            location,
            content.HasCustomType ? content.CustomType : null,
            content.HasCustomData ? content.CustomData : null,
            content.HasReplyToSeq ? content.ReplyToSeq : null);
    }

    public static MessageClass ToDomain(V1.MessageClass messageClass) => messageClass switch
    {
        V1.MessageClass.Instant => MessageClass.Instant,
        V1.MessageClass.Notification => MessageClass.Notification,
        _ => MessageClass.Persistent,
    };

    public static V1.Content ToProto(MessageContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var proto = new V1.Content { Type = (V1.ContentType)(int)content.Type };
        if (content.Text is not null)
        {
            proto.Text = content.Text;
        }

        if (content.CustomType is not null)
        {
            proto.CustomType = content.CustomType;
        }

        if (content.CustomData is not null)
        {
            proto.CustomData = content.CustomData;
        }

        if (content.ReplyToSeq is { } replyTo)
        {
            proto.ReplyToSeq = replyTo;
        }

        if (content.Media is { } media)
        {
            proto.Media = new V1.Media { Url = media.Url, MimeType = media.MimeType, SizeBytes = media.SizeBytes };
            if (media.Width is { } width)
            {
                proto.Media.Width = width;
            }

            if (media.Height is { } height)
            {
                proto.Media.Height = height;
            }

            if (media.DurationMs is { } duration)
            {
                proto.Media.DurationMs = duration;
            }

            if (media.FileName is not null)
            {
                proto.Media.FileName = media.FileName;
            }

            if (media.Thumbnail is not null)
            {
                proto.Media.Thumbnail = ByteString.CopyFrom(media.Thumbnail);
            }
        }

        if (content.Location is { } location)
        {
            proto.Location = new V1.Location { Latitude = location.Latitude, Longitude = location.Longitude };
            if (location.Name is not null)
            {
                proto.Location.Name = location.Name;
            }
        }

        return proto;
    }

    public static V1.Message ToProto(ChatMessage message)
    {
        ArgumentNullException.ThrowIfNull(message);
        var proto = new V1.Message
        {
            ConversationId = message.ConversationId,
            Seq = message.Seq,
            SenderId = message.SenderId,
            SenderDeviceId = message.SenderDeviceId ?? "",
            ClientMsgId = message.ClientMsgId,
            Class = (V1.MessageClass)(int)message.Class,
            ServerTimeMs = message.ServerTime.ToUnixTimeMilliseconds(),
            State = (V1.MessageState)(int)message.State,
            Revision = message.Revision,
            CollapseKey = message.CollapseKey ?? "",
            SenderName = message.SenderName ?? "",
            // Only agents ever get messages with it set: conversation grains strip it from what users see.
            ActingSenderId = message.ActingSenderId ?? "",
            RevisedAtMs = message.RevisedAt?.ToUnixTimeMilliseconds() ?? 0,
        };
        if (message.Content is not null)
        {
            proto.Content = ToProto(message.Content);
        }

        if (message.Mentions is { } mentions)
        {
            proto.Mentions.AddRange(mentions);
        }

        return proto;
    }

    public static V1.CsAgentView ToProto(string shopId, CustomerService.AgentView? view)
    {
        if (view is null)
        {
            return new V1.CsAgentView { ShopId = shopId, Error = ToError(AccessStatus.NoAccess) };
        }

        var proto = new V1.CsAgentView
        {
            ShopId = shopId,
            Available = view.Available,
            Online = view.Online,
            MaxSessions = (uint)view.MaxSessions,
            QueueLength = (uint)view.QueueLength,
        };
        proto.Sessions.AddRange(view.Sessions.Select(s => new V1.CsSession
        {
            SessionId = s.SessionId,
            UserId = s.UserId,
            ConversationId = s.ConversationId,
            OpenedAtMs = s.OpenedAt.ToUnixTimeMilliseconds(),
            FirstSeq = s.FirstSeq,
            AwaitingAnswerSinceMs = s.AwaitingAnswerSince?.ToUnixTimeMilliseconds() ?? 0,
        }));
        return proto;
    }

    public static V1.ConversationEntry ToProto(ConversationEntry entry)
    {
        ArgumentNullException.ThrowIfNull(entry);
        var proto = new V1.ConversationEntry
        {
            ConversationId = entry.ConversationId,
            Kind = (V1.ConversationKind)(int)entry.Kind,
            LastSeq = entry.LastSeq,
            ReadSeq = entry.ReadSeq,
            UnreadCount = entry.UnreadCount,
            Muted = entry.Muted,
            Pinned = entry.Pinned,
            Hidden = entry.Hidden,
            Draft = entry.Draft ?? "",
            Mentioned = entry.Mentioned,
            Removed = entry.Removed,
            Version = entry.Version,
            PeerReadSeq = entry.PeerReadSeq,
            MentionSeq = entry.MentionSeq,
            ChangedAtMs = entry.ChangedAt?.ToUnixTimeMilliseconds() ?? 0,
        };
        if (entry.LastMessage is { } last)
        {
            proto.LastMessage = new V1.MessagePreview
            {
                Seq = last.Seq,
                SenderId = last.SenderId,
                Type = (V1.ContentType)(int)(last.Type ?? 0),
                Text = last.Text ?? "",
                ServerTimeMs = last.ServerTime.ToUnixTimeMilliseconds(),
                State = (V1.MessageState)(int)last.State,
            };
        }

        return proto;
    }

    /// <summary>A pushed event on the wire; null for events the protocol has no form for.</summary>
    public static V1.Event? ToProto(UserEvent userEvent) => userEvent switch
    {
        MessageEvent { Message: { Class: MessageClass.Instant, Content.CustomType: TypingIndicator.CustomType } m } =>
            new V1.Event { Typing = new V1.Typing
            {
                ConversationId = m.ConversationId,
                UserId = m.SenderId,
                ExpiresInMs = (uint)TypingIndicator.ExpiresAfter.TotalMilliseconds,
            } },
        MessageEvent e => new V1.Event { Message = ToProto(e.Message) },
        MessageChangedEvent e => new V1.Event { Changed = new V1.MessageChanged { Message = ToProto(e.Message), ActorId = e.ActorId } },
        ReadReceiptEvent e => new V1.Event { ReadReceipt = new V1.ReadReceipt { ConversationId = e.ConversationId, ReaderId = e.ReaderId, Seq = e.Seq } },
        ConversationUpdatedEvent e => new V1.Event { Conversation = ToProto(e.Entry) },
        PresenceEvent e => new V1.Event { Presence = new V1.Presence
        {
            UserId = e.UserId,
            Status = ToWire(e.Status),
            LastSeenMs = e.LastSeen?.ToUnixTimeMilliseconds() ?? 0,
        } },
        ContactsChangedEvent e => new V1.Event { Contacts = new V1.ContactsChanged { Version = e.Version } },
        _ => null,
    };

    public static V1.Error Error(V1.ErrorCode code, string message, bool retryable = false) =>
        new() { Code = code, Message = message, Retryable = retryable };

    /// <summary>The wire error for a refused send.</summary>
    public static V1.Error ToError(SendResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Status switch
        {
            SendStatus.NoAccess => Error(V1.ErrorCode.NotFound, result.Error ?? "no such conversation"),
            SendStatus.TooLarge => Error(V1.ErrorCode.TooLarge, result.Error ?? "too large"),
            SendStatus.RateLimited => Error(V1.ErrorCode.RateLimited, result.Error ?? "rate limited", retryable: true),
            SendStatus.Unavailable => Error(V1.ErrorCode.Unavailable, result.Error ?? "unavailable", retryable: true),
            SendStatus.Offline => Error(V1.ErrorCode.Offline, result.Error ?? "the callee has no online device"),
            _ => Error(V1.ErrorCode.BadRequest, result.Error ?? "invalid message"),
        };
    }

    /// <summary>The wire error for a refused operation; null when it succeeded.</summary>
    public static V1.Error? ToError(AccessStatus status) => status switch
    {
        AccessStatus.Ok => null,
        AccessStatus.NoAccess or AccessStatus.NotFound => Error(V1.ErrorCode.NotFound, "no such conversation or message"),
        AccessStatus.NotAllowed => Error(V1.ErrorCode.NotAllowed, "not allowed"),
        AccessStatus.Unavailable => Error(V1.ErrorCode.Unavailable, "unavailable; retry", retryable: true),
        AccessStatus.Conflict => Error(V1.ErrorCode.Conflict, "already so"),
        _ => Error(V1.ErrorCode.BadRequest, "invalid request"),
    };

    public static ConversationKind Kind(V1.ConversationKind kind) => (ConversationKind)(int)kind;

    /// <summary>A presence status as both wires spell it: <c>online</c>, <c>away</c>, <c>offline</c>, <c>hidden</c>.</summary>
    public static string ToWire(PresenceStatus status) => status switch
    {
        PresenceStatus.Online => "online",
        PresenceStatus.Away => "away",
        PresenceStatus.Hidden => "hidden",
        _ => "offline",
    };
}
