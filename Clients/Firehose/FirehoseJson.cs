using System.Text.Json;
using Orleans.Im.Events;

namespace Orleans.Im.Firehose;

/// <summary>An event as one JSON object (the body of a webhook delivery): the stream fields, with <c>data</c> as an object.</summary>
public static class FirehoseJson
{
    /// <summary>UTF-8 JSON of the event.</summary>
    public static byte[] Serialize(FirehoseEvent e)
    {
        ArgumentNullException.ThrowIfNull(e);
        using var buffer = new MemoryStream();
        using (var json = new Utf8JsonWriter(buffer))
        {
            json.WriteStartObject();
            foreach (var (name, value) in FirehoseFields.ToFields(e))
            {
                if (name == FirehoseFields.Data)
                {
                    json.WritePropertyName(name);
                    json.WriteRawValue(value);
                }
                else if (name == FirehoseFields.Seq)
                {
                    json.WriteNumber(name, e.Seq!.Value);
                }
                else
                {
                    json.WriteString(name, value);
                }
            }

            json.WriteEndObject();
        }

        return buffer.ToArray();
    }

    /// <summary>Reads a webhook body back into the event (for .NET receivers); null when it is not one.</summary>
    public static FirehoseEvent? Deserialize(ReadOnlySpan<byte> body)
    {
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                return null;
            }

            var fields = document.RootElement.EnumerateObject().Select(p => new KeyValuePair<string, string>(p.Name,
                p.Value.ValueKind == JsonValueKind.String ? p.Value.GetString()! : p.Value.GetRawText()));
            return FirehoseFields.TryParse(fields, out var e) ? e : null;
        }
        catch (Exception ex) when (ex is JsonException or InvalidOperationException)
        {
            // InvalidOperationException: a string the parser took but that is no text (a lone surrogate escape).
            return null;
        }
    }
}
