using System.Globalization;
using System.Text.Json;
using Orleans.Im.Messages;

namespace Orleans.Im.Events;

/// <summary>
/// Builds firehose events from what grains know, in one place, so every publisher writes the same ids, types and
/// bodies (<c>docs/EVENTS.md</c>). Ids of logged things are derived from the log (conversation, seq, revision), so a
/// replay from PostgreSQL or a retried publish carries the same id and consumers can drop duplicates.
/// </summary>
public static class FirehoseEvents
{
    /// <summary>A message durably stored in a conversation's log.</summary>
    public static FirehoseEvent MessageSent(ChatMessage m) => new(
        MessageId(m.ConversationId, m.Seq), EventClass.Message, "message.sent", m.ServerTime, m.ConversationId, m.Seq, m.SenderId,
        Json(new MessageEventData(m.ClientMsgId, m.SenderDeviceId, m.Class, m.Content, m.State, m.Revision, m.CollapseKey, m.ActingSenderId, m.SenderName)));

    /// <summary>The stable id of a stored message's event: <c>m:{conversation}:{seq}</c>.</summary>
    public static string MessageId(string conversationId, long seq) =>
        string.Create(CultureInfo.InvariantCulture, $"m:{conversationId}:{seq}");

    /// <summary>A recall or an edit of a stored message (the revised message), by <paramref name="actorId"/>.</summary>
    public static FirehoseEvent MessageChanged(ChatMessage revised, string actorId, DateTimeOffset at)
    {
        var (eventClass, type) = revised.State == MessageState.Recalled
            ? (EventClass.Recall, "message.recalled")
            : (EventClass.Edit, "message.edited");
        return new(
            string.Create(CultureInfo.InvariantCulture, $"c:{revised.ConversationId}:{revised.Seq}:{revised.Revision}"),
            eventClass, type, at, revised.ConversationId, revised.Seq, actorId,
            Json(new MessageChangeEventData(revised.SenderId, revised.State, revised.Revision, revised.Content)));
    }

    /// <summary>A user read a conversation up to <paramref name="seq"/>.</summary>
    public static FirehoseEvent Read(string conversationId, string userId, long seq, DateTimeOffset at) => new(
        string.Create(CultureInfo.InvariantCulture, $"r:{conversationId}:{userId}:{seq}"), EventClass.Read, "conversation.read", at,
        conversationId, seq, userId, "{}");

    /// <summary>A user's announced presence changed.</summary>
    public static FirehoseEvent PresenceChanged(string userId, PresenceEventData data, DateTimeOffset at) =>
        new(NewId("p"), EventClass.Presence, "presence.changed", at, null, null, userId, Json(data));

    /// <summary>Users were mentioned in the message at <paramref name="seq"/>.</summary>
    public static FirehoseEvent Mentioned(string conversationId, long seq, string senderId, MentionEventData data, DateTimeOffset at) => new(
        string.Create(CultureInfo.InvariantCulture, $"n:{conversationId}:{seq}"), EventClass.Mention, "mention", at, conversationId, seq, senderId, Json(data));

    /// <summary>A group event of <paramref name="type"/> (<c>group.*</c>) done by <paramref name="actorId"/>.</summary>
    public static FirehoseEvent GroupChanged(string type, string conversationId, string actorId, GroupEventData data, DateTimeOffset at) =>
        new(NewId("g"), EventClass.Group, type, at, conversationId, null, actorId, Json(data));

    /// <summary>A customer-service session event of <paramref name="type"/> (<c>cs.*</c>).</summary>
    public static FirehoseEvent CustomerService(string type, string conversationId, CustomerServiceEventData data, DateTimeOffset at) =>
        new(NewId("s"), EventClass.CustomerService, type, at, conversationId, null, data.CustomerId, Json(data));

    private static string NewId(string prefix) => prefix + ":" + Guid.CreateVersion7().ToString("N");

    private static string Json<T>(T data) => JsonSerializer.Serialize(data, EventJson.Options);
}
