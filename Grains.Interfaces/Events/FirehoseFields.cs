using System.Globalization;

namespace Orleans.Im.Events;

/// <summary>
/// The one mapping between a <see cref="FirehoseEvent"/> and the fields of a Redis stream entry, used by the silo's
/// publisher and the robots' consumer alike. Field names are the documented schema: change them only by adding.
/// </summary>
public static class FirehoseFields
{
    /// <summary>Field names in entry order.</summary>
    public const string Id = "id", Class = "class", Type = "type", Time = "time", Conversation = "conversation", Seq = "seq", User = "user", Data = "data";

    /// <summary>The fields of an entry; absent values are left out rather than written empty.</summary>
    public static IReadOnlyList<KeyValuePair<string, string>> ToFields(FirehoseEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        var fields = new List<KeyValuePair<string, string>>(8)
        {
            new(Id, e.Id),
            new(Class, FirehoseStreams.NameOf(e.Class)),
            new(Type, e.Type),
            new(Time, e.Time.UtcDateTime.ToString("yyyy-MM-dd'T'HH:mm:ss.fff'Z'", CultureInfo.InvariantCulture)),
        };
        if (e.ConversationId is not null)
        {
            fields.Add(new(Conversation, e.ConversationId));
        }

        if (e.Seq is { } seq)
        {
            fields.Add(new(Seq, seq.ToString(CultureInfo.InvariantCulture)));
        }

        if (e.UserId is not null)
        {
            fields.Add(new(User, e.UserId));
        }

        fields.Add(new(Data, e.Data));
        return fields;
    }

    /// <summary>Reads an entry's fields; false when a required field is missing or malformed (unknown fields are ignored).</summary>
    public static bool TryParse(IEnumerable<KeyValuePair<string, string>> fields, out FirehoseEvent? e)
    {
        ArgumentNullException.ThrowIfNull(fields);
        string? id = null, type = null, conversation = null, user = null, data = null;
        EventClass? eventClass = null;
        DateTimeOffset? time = null;
        long? seq = null;
        foreach (var (name, value) in fields)
        {
            switch (name)
            {
                case Id: id = value; break;
                case Type: type = value; break;
                case Conversation: conversation = value; break;
                case User: user = value; break;
                case Data: data = value; break;
                case Class when FirehoseStreams.TryParse(value, out var parsed): eventClass = parsed; break;
                case Time when DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed): time = parsed; break;
                case Seq when long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out var parsed): seq = parsed; break;
                default: break;
            }
        }

        e = id is not null && type is not null && eventClass is not null && time is not null
            ? new FirehoseEvent(id, eventClass.Value, type, time.Value, conversation, seq, user, data ?? "{}")
            : null;
        return e is not null;
    }
}
