using Orleans.Im.Messages;

namespace Orleans.Im.Events;

/// <summary>The body of a <c>message.sent</c> event: the stored message (the envelope carries conversation, seq, sender, time).</summary>
public sealed record MessageEventData(
    string ClientMsgId,
    string? SenderDeviceId,
    MessageClass Class,
    MessageContent? Content,
    MessageState State,
    int Revision,
    string? CollapseKey,
    string? ActingSenderId,
    string? SenderName);
