using System.Globalization;
using System.Text;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.AgentConsole;

/// <summary>
/// Text from elsewhere (customers' messages, ids, names, the server's errors) made safe for the agent's terminal and
/// the one-line-per-message layout: control characters are what a terminal obeys (an ESC starts a sequence that can
/// move the cursor, recolour, retitle or worse), so none reaches it.
/// </summary>
public static class ConsoleText
{
    /// <summary>Shown for a line break: each message keeps to one line of the conversation panel.</summary>
    public const string LineBreak = " ↵ ";

    /// <summary>Shown for any other control character (C0, DEL, C1) and for the bidirectional overrides.</summary>
    public const char Replacement = '\uFFFD';

    /// <summary>
    /// <paramref name="text"/> with line breaks shown as <see cref="LineBreak"/>, tabs as a space, and every other
    /// control character (C0, DEL, C1, which includes the 8-bit CSI) and bidirectional override (which would make the
    /// line read differently from what it says) as <see cref="Replacement"/>.
    /// </summary>
    public static string Sanitize(string? text)
    {
        if (string.IsNullOrEmpty(text))
        {
            return "";
        }

        if (!text.Any(NeedsReplacing))
        {
            return text;
        }

        var safe = new StringBuilder(text.Length + 8);
        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            switch (c)
            {
                case '\r' when i + 1 < text.Length && text[i + 1] == '\n':
                    break;
                case '\r' or '\n' or '\u2028' or '\u2029':
                    safe.Append(LineBreak);
                    break;
                case '\t':
                    safe.Append(' ');
                    break;
                default:
                    safe.Append(NeedsReplacing(c) ? Replacement : c);
                    break;
            }
        }

        return safe.ToString();
    }

    /// <summary><see cref="Sanitize"/>, then escaped for Spectre markup: what every outside text goes through on screen.</summary>
    public static string Markup(string? text) => Spectre.Console.Markup.Escape(Sanitize(text));

    /// <summary>
    /// What a message says on screen: its text, or what it is when it has none (a recalled or deleted message, an
    /// image or another kind of content). proto3's optional text reads "" when unset, so <see cref="Content.HasText"/>
    /// decides, not a null check.
    /// </summary>
    public static string Describe(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        return message.State switch
        {
            MessageState.Recalled => "(recalled)",
            MessageState.Deleted => "(deleted)",
            MessageState.Collapsed => "(replaced)",
            _ when message.Content is null => "(removed)",
            _ when message.Content.HasText => Sanitize(message.Content.Text)
                + (message.State == MessageState.Edited ? " (edited)" : ""),
            _ => $"({ContentName(message.Content)})",
        };
    }

    private static string ContentName(Content content) => content.Type switch
    {
        ContentType.Image => "image",
        ContentType.Voice => "voice message",
        ContentType.Video => "video",
        ContentType.File => content.Media?.HasFileName == true ? $"file {Sanitize(content.Media.FileName)}" : "file",
        ContentType.Location => content.Location?.HasName == true ? $"location {Sanitize(content.Location.Name)}" : "location",
        ContentType.Custom => content.HasCustomType ? Sanitize(content.CustomType) : "custom message",
        _ => "message",
    };

    /// <summary>
    /// <paramref name="text"/> without its last text element (what a reader sees as one character: an emoji of two
    /// UTF-16 units, a letter with its combining marks, a flag, a family emoji joined by ZWJs): what Backspace removes.
    /// Removing one UTF-16 unit would leave half an emoji (a lone surrogate) or a mark without its letter.
    /// </summary>
    public static string RemoveLastTextElement(string text)
    {
        ArgumentNullException.ThrowIfNull(text);
        var lastStart = 0;
        var enumerator = StringInfo.GetTextElementEnumerator(text);
        while (enumerator.MoveNext())
        {
            lastStart = enumerator.ElementIndex;
        }

        return text[..lastStart];
    }

    private static bool NeedsReplacing(char c) =>
        char.IsControl(c) || c is '\u2028' or '\u2029' or (>= '\u202A' and <= '\u202E') or (>= '\u2066' and <= '\u2069');
}
