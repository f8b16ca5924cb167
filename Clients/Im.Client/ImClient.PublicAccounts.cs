using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

// Official accounts, @mentions and call signalling: what issue 10 added to the protocol beyond plain messages.
public sealed partial class ImClient
{
    /// <summary>The custom type of call-signalling messages (the server's <c>CallSignal.CustomType</c>).</summary>
    public const string CallSignalType = "im.call";

    /// <summary>Subscribes to an official account; its broadcasts arrive in the conversation <c>pub:{accountId}</c>.</summary>
    public Task SubscribeAsync(string accountId, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.PubSubscribe, new PubSubscribeRequest { AccountId = accountId }, cancellationToken);

    /// <summary>Unsubscribes from an official account; the conversation's entry is marked removed.</summary>
    public Task UnsubscribeAsync(string accountId, CancellationToken cancellationToken = default) =>
        ResultAsync(Op.PubUnsubscribe, new PubSubscribeRequest { AccountId = accountId }, cancellationToken);

    /// <summary>
    /// Sends a group text that @-mentions <paramref name="mentions"/> (member ids, or <c>"all"</c> for owners and admins).
    /// Resent after a reconnect like any send.
    /// </summary>
    public Task<SendAck> SendMentioningAsync(string conversationId, string text, IEnumerable<string> mentions, string? clientMsgId = null)
    {
        var request = new SendRequest
        {
            ConversationId = conversationId,
            ClientMsgId = clientMsgId ?? Guid.NewGuid().ToString("N"),
            Content = new Content { Type = ContentType.Text, Text = text },
        };
        request.Mentions.AddRange(mentions);
        return Send(request);
    }

    /// <summary>
    /// Sends a call signal (offer, answer, ICE candidate, hang-up: the application's JSON, at most 8 KiB) in a one-to-one
    /// conversation. It reaches every online device of the callee; when none is online the ack is refused with
    /// <see cref="ErrorCode.Offline"/>. Never stored.
    /// </summary>
    public Task<SendAck> SendCallSignalAsync(string conversationId, string payload) =>
        SendAsync(conversationId, new Content { Type = ContentType.Custom, CustomType = CallSignalType, CustomData = payload }, messageClass: MessageClass.Instant);
}
