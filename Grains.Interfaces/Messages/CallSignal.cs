namespace Orleans.Im.Messages;

/// <summary>
/// Call signalling over the IM (offer, answer, ICE candidates, hang-up): instant messages of custom type
/// <see cref="CustomType"/> in one-to-one conversations, with the signal as <see cref="MessageContent.CustomData"/>
/// (the application's JSON, e.g. <c>{"callId":"…","kind":"offer","sdp":"…"}</c>). Delivered to every online device of
/// the callee. An offer (<c>"kind":"offer"</c>) also wakes the callee's devices that are not connected but have a push
/// token (offline push, through the operator's gateway, carrying the signal); when the callee has no device online and
/// none to wake, the send is refused with <see cref="SendStatus.Offline"/>.
/// </summary>
public static class CallSignal
{
    /// <summary>The custom type of a call-signalling message.</summary>
    public const string CustomType = "im.call";

    /// <summary>The largest signal payload (UTF-8 bytes of the custom data): an SDP offer fits, media never does.</summary>
    public const int MaxPayloadBytes = 8 * 1024;

    /// <summary>True when <paramref name="content"/> is a call signal.</summary>
    public static bool Is(MessageContent? content) => content is { Type: ContentType.Custom, CustomType: CustomType };

    /// <summary>
    /// True when <paramref name="content"/> is a call signal whose JSON says <c>"kind":"offer"</c>: the start of a call,
    /// which wakes a callee's devices that are away (answers, candidates and hang-ups only matter to a device in the call).
    /// </summary>
    public static bool IsOffer(MessageContent? content)
    {
        if (!Is(content) || content!.CustomData is not { Length: > 0 } data)
        {
            return false;
        }

        try
        {
            using var json = System.Text.Json.JsonDocument.Parse(data);
            return json.RootElement.ValueKind == System.Text.Json.JsonValueKind.Object
                && json.RootElement.TryGetProperty("kind", out var kind)
                && kind.ValueKind == System.Text.Json.JsonValueKind.String
                && kind.GetString() == "offer";
        }
        catch (System.Text.Json.JsonException)
        {
            // The application's own format: not an offer this server can tell.
            return false;
        }
    }

    /// <summary>A call signal carrying <paramref name="payload"/>.</summary>
    public static MessageContent Content(string payload) => new(ContentType.Custom, CustomType: CustomType, CustomData: payload);
}
