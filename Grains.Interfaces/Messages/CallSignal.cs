namespace Orleans.Im.Messages;

/// <summary>
/// Call signalling over the IM (offer, answer, ICE candidates, hang-up): instant messages of custom type
/// <see cref="CustomType"/> in one-to-one conversations, with the signal as <see cref="MessageContent.CustomData"/>
/// (the application's JSON, e.g. <c>{"callId":"…","kind":"offer","sdp":"…"}</c>). Delivered to every online device of
/// the callee; when the callee has none the send is refused with <see cref="SendStatus.Offline"/>.
/// </summary>
public static class CallSignal
{
    /// <summary>The custom type of a call-signalling message.</summary>
    public const string CustomType = "im.call";

    /// <summary>The largest signal payload (UTF-8 bytes of the custom data): an SDP offer fits, media never does.</summary>
    public const int MaxPayloadBytes = 8 * 1024;

    /// <summary>True when <paramref name="content"/> is a call signal.</summary>
    public static bool Is(MessageContent? content) => content is { Type: ContentType.Custom, CustomType: CustomType };

    /// <summary>A call signal carrying <paramref name="payload"/>.</summary>
    public static MessageContent Content(string payload) => new(ContentType.Custom, CustomType: CustomType, CustomData: payload);
}
