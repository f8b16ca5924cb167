using Orleans.Im.Messages;

namespace Orleans.Im.Events;

/// <summary>The body of <c>message.recalled</c> and <c>message.edited</c>: the message's new state (the envelope's user is who changed it).</summary>
public sealed record MessageChangeEventData(string SenderId, MessageState State, int Revision, MessageContent? Content);
