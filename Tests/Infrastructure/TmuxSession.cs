using System.Diagnostics;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A terminal program under tmux, driven as a person would: keys in (<c>send-keys</c>), the screen out
/// (<c>capture-pane</c>). Each instance has its own tmux server (its own socket), killed on dispose with everything in it.
/// </summary>
public sealed class TmuxSession : IAsyncDisposable
{
    private readonly string _socket = $"orleans-im-test-{Guid.NewGuid():N}";
    private const string Target = "main";

    private TmuxSession()
    {
    }

    /// <summary>Starts <paramref name="command"/> (an argument list) in a detached session of the given size.</summary>
    public static async Task<TmuxSession> StartAsync(IReadOnlyList<string> command, int width = 160, int height = 40)
    {
        var session = new TmuxSession();
        // Kept open after the program ends, so a failing test still sees its last screen.
        await session.RunAsync(["new-session", "-d", "-s", Target, "-x", width.ToString(System.Globalization.CultureInfo.InvariantCulture),
            "-y", height.ToString(System.Globalization.CultureInfo.InvariantCulture), .. command]);
        await session.RunAsync(["set-option", "-t", Target, "remain-on-exit", "on"]);
        return session;
    }

    /// <summary>Types text literally (no key names).</summary>
    public Task TypeAsync(string text) => RunAsync(["send-keys", "-t", Target, "-l", text]);

    /// <summary>Presses keys by tmux name: <c>Enter</c>, <c>Tab</c>, <c>C-x</c>…</summary>
    public Task PressAsync(params string[] keys) => RunAsync(["send-keys", "-t", Target, .. keys]);

    /// <summary>The visible screen, as text.</summary>
    public Task<string> CaptureAsync() => RunAsync(["capture-pane", "-p", "-t", Target]);

    /// <summary>Whether the program has ended (its pane is kept open, see <see cref="StartAsync"/>).</summary>
    public async Task<bool> HasEndedAsync() =>
        (await RunAsync(["display-message", "-p", "-t", Target, "#{pane_dead}"])).Trim() == "1";

    /// <summary>Waits until the screen shows what <paramref name="expected"/> looks for; fails with the last screen after the patience.</summary>
    public async Task<string> WaitForScreenAsync(Func<string, bool> expected, string what, TimeSpan? patience = null)
    {
        var screen = await Eventually.ReturnsAsync(CaptureAsync, expected, patience ?? TimeSpan.FromSeconds(30));
        Assert.True(expected(screen), $"the screen never showed {what}; last screen:\n{screen}");
        return screen;
    }

    public Task<string> WaitForTextAsync(string text, TimeSpan? patience = null) =>
        WaitForScreenAsync(s => s.Contains(text, StringComparison.Ordinal), $"'{text}'", patience);

    public async ValueTask DisposeAsync()
    {
        try
        {
            await RunAsync(["kill-server"]);
        }
        catch (InvalidOperationException)
        {
            // Already gone.
        }
    }

    private async Task<string> RunAsync(IReadOnlyList<string> arguments)
    {
        var start = new ProcessStartInfo("tmux")
        {
            RedirectStandardOutput = true,
            RedirectStandardError = true,
            UseShellExecute = false,
        };
        start.ArgumentList.Add("-L");
        start.ArgumentList.Add(_socket);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }

        start.Environment["TERM"] = "xterm-256color";
        using var process = Process.Start(start) ?? throw new InvalidOperationException("tmux did not start");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return process.ExitCode == 0
            ? await output
            : throw new InvalidOperationException($"tmux {string.Join(' ', arguments)} failed ({process.ExitCode}): {await error}");
    }
}
