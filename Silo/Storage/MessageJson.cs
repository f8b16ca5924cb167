using System.Text.Json;
using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Users;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// How message content and previews are written as JSON in PostgreSQL: the same JSON as the event firehose
/// (<see cref="EventJson"/>), so that other systems read the tables without our types.
/// </summary>
internal static class MessageJson
{
    public static JsonSerializerOptions Options => EventJson.Options;

    public static string Write(MessageContent content) => JsonSerializer.Serialize(content, Options);

    public static MessageContent ReadContent(string json) =>
        JsonSerializer.Deserialize<MessageContent>(json, Options) ?? throw new JsonException("null message content");

    public static string Write(IReadOnlyList<string> mentions) => JsonSerializer.Serialize(mentions, Options);

    public static string[] ReadMentions(string json) => JsonSerializer.Deserialize<string[]>(json, Options) ?? [];

    public static string Write(MessagePreview preview) => JsonSerializer.Serialize(preview, Options);

    public static MessagePreview? ReadPreview(string? json) =>
        json is null ? null : JsonSerializer.Deserialize<MessagePreview>(json, Options);
}
