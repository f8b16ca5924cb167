namespace Orleans.Im.Events;

/// <summary>
/// One firehose event, as appended to its class's Redis stream (fields in <see cref="FirehoseFields"/>; schema in
/// <c>docs/EVENTS.md</c>).
/// </summary>
/// <param name="Id">
/// Stable for what happened: a replay from PostgreSQL re-publishes a message with the same id, so consumers can drop
/// what they have seen (e.g. <c>m:{conversation}:{seq}</c> for a message).
/// </param>
/// <param name="Class">The event class, which is also the stream.</param>
/// <param name="Type">What happened within the class, e.g. <c>message.sent</c>, <c>group.members_added</c>.</param>
/// <param name="Time">When it happened (server time; a message's server time).</param>
/// <param name="ConversationId">The conversation it happened in, when there is one.</param>
/// <param name="Seq">The message seq it is about, where that applies (message, recall, edit, read position, mention).</param>
/// <param name="UserId">The user who caused it or whom it is about (the sender, the reader, the user whose presence changed).</param>
/// <param name="Data">The class-specific body, a JSON object written with <see cref="EventJson.Options"/>.</param>
public sealed record FirehoseEvent(
    string Id,
    EventClass Class,
    string Type,
    DateTimeOffset Time,
    string? ConversationId,
    long? Seq,
    string? UserId,
    string Data);
