using System.Text;
using Orleans.Im.Messages;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

// Instant messages beyond the plain ones: typing (throttled per sender) and call signalling (to the callee's online
// devices, with an explicit "offline" when there are none).
public sealed partial class ConversationGrain
{
    /// <summary>Refuses instant-only contents sent otherwise, and call signals that are not one-to-one or too large.</summary>
    private SendResult? ValidateInstant(SendRequest request)
    {
        var typing = TypingIndicator.Is(request.Content);
        var call = CallSignal.Is(request.Content);
        if ((typing || call) && request.Class != MessageClass.Instant)
        {
            return SendResult.Refused(SendStatus.Invalid, "typing and call signals are instant messages");
        }

        if (!call)
        {
            return null;
        }

        if (_address!.Kind != ConversationKind.P2P)
        {
            return SendResult.Refused(SendStatus.Invalid, "call signals go to one-to-one conversations");
        }

        return Encoding.UTF8.GetByteCount(request.Content.CustomData ?? "") > CallSignal.MaxPayloadBytes
            ? SendResult.Refused(SendStatus.TooLarge, $"a call signal carries at most {CallSignal.MaxPayloadBytes} bytes")
            : null;
    }

    /// <summary>At most one typing indicator per sender per <see cref="TypingIndicator.ThrottleInterval"/> goes out.</summary>
    private bool ShouldForwardTyping(string senderId, DateTimeOffset now)
    {
        if (!_typing.TryForward(senderId, now))
        {
            return false;
        }

        ForgetIdleSenders(now);
        return true;
    }

    /// <summary>
    /// Delivers a call signal to every online device of the callee, and says so: a caller must learn at once that nobody
    /// will ring, rather than wait for an answer that cannot come. Only a caller who may see the callee's presence learns
    /// it, though: to anyone else "offline" or not would tell what the callee's presence hides, so the call rings out
    /// unanswered as when nobody picks up.
    /// </summary>
    private async Task<SendResult> SendCallSignalAsync(SendRequest request, DateTimeOffset now)
    {
        var callee = GrainFactory.For<IUserGrain>(PeerOf(request.SenderId));
        var message = new ChatMessage(ConversationId, 0, request.SenderId, request.SenderDeviceId, request.ClientMsgId,
            MessageClass.Instant, request.Content, now);
        return await callee.DeliverInstantAsync(message) > 0
            || (await callee.GetPresenceForAsync(request.SenderId)).Status == PresenceStatus.Hidden
            ? new SendResult(SendStatus.Sent, 0, now)
            : SendResult.Refused(SendStatus.Offline, "the callee has no online device");
    }
}
