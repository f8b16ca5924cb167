using System.Text.Json;
using System.Text.Json.Serialization;

namespace Orleans.Im.Events;

/// <summary>
/// How event bodies (and message content stored in PostgreSQL) are written as JSON: camelCase names, enum names as
/// camelCase strings, nulls left out — so other systems read them without our types.
/// </summary>
public static class EventJson
{
    /// <summary>The serializer options of every JSON the product writes for other systems.</summary>
    public static JsonSerializerOptions Options { get; } = new(JsonSerializerDefaults.Web)
    {
        DefaultIgnoreCondition = JsonIgnoreCondition.WhenWritingNull,
        Converters = { new JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
