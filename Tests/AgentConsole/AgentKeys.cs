using Orleans.Im.AgentConsole;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>Keys as Console.ReadKey hands them to the agent console: one per UTF-16 unit; \t is Tab, \n is Enter.</summary>
internal static class AgentKeys
{
    /// <summary>Typed by hand: each key arrives alone.</summary>
    public static void Type(AgentApp app, string text)
    {
        foreach (var c in text)
        {
            app.OnKey(KeyFor(c), moreKeysWaiting: false);
        }
    }

    /// <summary>Pasted: the terminal hands over all the keys at once, so more are waiting behind each but the last.</summary>
    public static void Paste(AgentApp app, string text)
    {
        for (var i = 0; i < text.Length; i++)
        {
            app.OnKey(KeyFor(text[i]), moreKeysWaiting: i < text.Length - 1);
        }
    }

    public static void Press(AgentApp app, ConsoleKey key) =>
        app.OnKey(new ConsoleKeyInfo(key switch { ConsoleKey.Enter => '\r', ConsoleKey.Tab => '\t', ConsoleKey.Backspace => '\b', ConsoleKey.Escape => '\u001b', _ => '\0' }, key, false, false, false), moreKeysWaiting: false);

    /// <summary>Ctrl with a letter key, as a terminal hands it over (the letter's control character).</summary>
    public static void PressControl(AgentApp app, ConsoleKey letter) =>
        app.OnKey(new ConsoleKeyInfo((char)(letter - ConsoleKey.A + 1), letter, shift: false, alt: false, control: true), moreKeysWaiting: false);

    private static ConsoleKeyInfo KeyFor(char c)
    {
        var key = c switch
        {
            '\t' => ConsoleKey.Tab,
            '\n' => ConsoleKey.Enter,
            >= 'a' and <= 'z' => ConsoleKey.A + (c - 'a'),
            >= 'A' and <= 'Z' => ConsoleKey.A + (c - 'A'),
            >= '0' and <= '9' => ConsoleKey.D0 + (c - '0'),
            ' ' => ConsoleKey.Spacebar,
            _ => (ConsoleKey)0,
        };
        return new ConsoleKeyInfo(c == '\n' ? '\r' : c, key, shift: char.IsUpper(c), alt: false, control: false);
    }
}
