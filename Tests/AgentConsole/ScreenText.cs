using Orleans.Im.AgentConsole;
using Spectre.Console;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>The console's screen drawn into a terminal of a given size, as plain text lines.</summary>
internal static class ScreenText
{
    public static string[] Render(ConsoleState state, int width, int height)
    {
        var writer = new StringWriter();
        var console = AnsiConsole.Create(new AnsiConsoleSettings
        {
            Ansi = AnsiSupport.No,
            ColorSystem = ColorSystemSupport.NoColors,
            Interactive = InteractionSupport.No,
            Out = new AnsiConsoleOutput(writer),
        });
        console.Profile.Width = width;
        console.Profile.Height = height;
        console.Write(ConsoleScreen.Render(state));
        return writer.ToString().TrimEnd('\n', '\r').Split('\n').Select(l => l.TrimEnd('\r')).ToArray();
    }
}
