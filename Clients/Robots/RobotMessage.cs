using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Robots;

/// <summary>One incoming message for a robot's handler, and the way to answer it in the same conversation.</summary>
public sealed class RobotMessage
{
    private readonly IClusterClient _client;
    private int _replies;

    internal RobotMessage(IClusterClient client, string robotId, string deviceId, ConversationAddress address, ChatMessage message)
    {
        _client = client;
        RobotId = robotId;
        DeviceId = deviceId;
        Address = address;
        Message = message;
    }

    /// <summary>The robot's own user id.</summary>
    public string RobotId { get; }

    /// <summary>The robot's device id (the sender device of its replies).</summary>
    public string DeviceId { get; }

    /// <summary>The conversation, parsed: its kind and, for one-to-one and customer service, both sides.</summary>
    public ConversationAddress Address { get; }

    /// <summary>The message as the robot may see it (a persistent message with content, from someone else).</summary>
    public ChatMessage Message { get; }

    /// <summary>Who wrote it.</summary>
    public string SenderId => Message.SenderId;

    /// <summary>The message's text (text messages, captions), or null.</summary>
    public string? Text => Message.Content?.Text;

    /// <summary>
    /// Sends a reply into the message's conversation as the robot. Idempotent: the client message id is derived from
    /// the incoming message's seq and the reply's index within this handling (see <see cref="RobotReplies"/>), so the
    /// same reply sent again after a retry or a crash is stored once and acknowledged as a duplicate. That holds for the
    /// robot's retries, which handle the message anew: a handler that calls this again itself after a refusal sends its
    /// next reply, which may be stored beside the first (an unavailable answer may follow a commit). On a passing refusal,
    /// throw (<see cref="RobotReplies.ThrowIfRetryable"/>) and the robot handles the message again, later.
    /// </summary>
    public Task<SendResult> ReplyAsync(MessageContent content)
    {
        ArgumentNullException.ThrowIfNull(content);
        var index = Interlocked.Increment(ref _replies) - 1;
        return _client.GetGrain<IConversationGrain>(Address.Id)
            .SendAsync(new SendRequest(RobotId, DeviceId, RobotReplies.ClientMsgId(Message.Seq, index), content));
    }

    /// <summary>
    /// Sends a text reply (see <see cref="ReplyAsync"/>); with <paramref name="quote"/>, one that names the message it
    /// answers, which clients show above it — worth it in a group, where the robot answers several people.
    /// </summary>
    public Task<SendResult> ReplyTextAsync(string text, bool quote = false) =>
        ReplyAsync(quote ? MessageContent.FromText(text) with { ReplyToSeq = Message.Seq } : MessageContent.FromText(text));
}
