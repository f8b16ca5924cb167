using System.Text.Json.Serialization;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.Push;

/// <summary>
/// One message to tell one device that is not connected, through the operator's push gateway (APNs, FCM, …). A hint,
/// like every push: the device pulls the message when it connects. The gateway gets it as JSON (camelCase, enums as
/// camelCase strings, nulls left out; docs/OPERATIONS.md, "Offline push"), without the session.
/// </summary>
/// <param name="UserId">Whose device.</param>
/// <param name="DeviceId">The device.</param>
/// <param name="Provider">Its push service (<c>apns</c>, <c>fcm</c>, …).</param>
/// <param name="Token">Its token with that service.</param>
/// <param name="SessionId">The device's login that registered the token: a notification for a session that has ended is
/// not sent (and the token is forgotten).</param>
/// <param name="ConversationId">Where the message is.</param>
/// <param name="Kind">The conversation's kind.</param>
/// <param name="Seq">The message's seq.</param>
/// <param name="SenderId">Who sent it (the shop, for an agent's answer).</param>
/// <param name="ContentType">What it holds (text, image, …).</param>
/// <param name="Preview">Its text cut for a preview (null for media without a caption); left out by a gateway client
/// told not to send previews.</param>
/// <param name="Badge">The user's unread messages in conversations that are not muted, for the app icon.</param>
/// <param name="Mentioned">The message mentions the user (notified even in a muted conversation).</param>
/// <param name="CollapseKey">A notice's collapse key: a later notification with it replaces this one on the device.</param>
/// <param name="ServerTime">When the message was stored (a call signal: when it was sent).</param>
/// <param name="Call">A call offer's signal (the application's JSON, as a string), to ring the device (a VoIP push); null
/// otherwise. A call has seq 0: nothing is stored.</param>
/// <param name="CallClientMsgId">A call offer's client message id (a retried offer has the same).</param>
/// <param name="AgedFrom">When the notification's age starts, when not at <paramref name="ServerTime"/>: a message told
/// because a lost connection was found only at its idle timeout (two minutes later) is as fresh as that finding.</param>
public sealed record OfflineNotification(
    string UserId,
    string DeviceId,
    string Provider,
    string Token,
    [property: JsonIgnore] string SessionId,
    string ConversationId,
    ConversationKind Kind,
    long Seq,
    string SenderId,
    ContentType? ContentType,
    string? Preview,
    long Badge,
    bool Mentioned,
    string? CollapseKey,
    DateTimeOffset ServerTime,
    string? Call = null,
    [property: JsonIgnore] string? CallClientMsgId = null,
    [property: JsonIgnore] DateTimeOffset? AgedFrom = null)
{
    /// <summary>
    /// What the notification tells, the same however often it is sent: with the device id, the gateway's key for dropping
    /// what it has seen (a message: <c>m:{conversation}:{seq}</c>, as the firehose names it; a call offer:
    /// <c>call:{conversation}:{caller}:{client message id}</c>).
    /// </summary>
    public string Id => Call is null ? $"m:{ConversationId}:{Seq}" : $"call:{ConversationId}:{SenderId}:{CallClientMsgId}";

    /// <summary>Its age at <paramref name="now"/>, for dropping what waited too long to be worth telling.</summary>
    public TimeSpan AgeAt(DateTimeOffset now) => now - (AgedFrom ?? ServerTime);
}
