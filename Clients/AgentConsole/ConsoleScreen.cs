using Orleans.Im.Client;
using Orleans.Im.Protocol.V1;
using Spectre.Console;
using Spectre.Console.Rendering;

namespace Orleans.Im.AgentConsole;

/// <summary>Draws <see cref="ConsoleState"/>: a header, the agent's sessions, the selected conversation, the input line and the keys.</summary>
public static class ConsoleScreen
{
    /// <summary>The keys, as the bottom line shows them (and docs/CUSTOMER-SERVICE.md lists them).</summary>
    public const string KeyHelp =
        "Tab/↓ next · Shift+Tab/↑ previous · Enter send · Esc clear/discard · Ctrl+G online/offline · Ctrl+T transfer · Ctrl+X close · Ctrl+R reload · Ctrl+E quit";

    /// <summary>
    /// The screen, cut to the terminal's size when drawn (<see cref="ScreenLayout"/>). Call under
    /// <see cref="ConsoleState.Sync"/>: what it takes from the state is copied, so it may be drawn after the lock is left.
    /// </summary>
    public static IRenderable Render(ConsoleState state)
    {
        ArgumentNullException.ThrowIfNull(state);
        var online = state.View?.Online == true;
        // The agent's state first: on a narrow terminal the header is cut, and this is what must stay.
        var header = new Markup(
            (online ? "[green bold]ONLINE[/]" : state.WantOnline == true ? "[yellow bold]WAITING FOR CONNECTION[/]" : "[grey bold]OFFLINE[/]")
            + $"   connection: {ConnectionText(state.Connection)}"
            + $"   queue: [bold]{state.View?.QueueLength ?? 0}[/]"
            + $"   sessions: {state.Sessions.Count}/{state.View?.MaxSessions ?? 0}"
            + $"   {ConsoleText.Markup(state.AgentId)} @ {ConsoleText.Markup(state.ShopId)} — [bold]Orleans.Im agent console[/]");

        var prompt = state.Mode switch
        {
            InputMode.TransferTarget => "Transfer to agent (empty: back to the queue)",
            InputMode.Password => "Password",
            _ => "Reply",
        };
        // A password is shown as one star per character typed, never as itself.
        var input = state.Mode == InputMode.Password ? new string('*', new System.Globalization.StringInfo(state.Input).LengthInTextElements) : ConsoleText.Markup(state.Input);
        return new ScreenLayout
        {
            Header = header,
            Status = new Markup(state.Status.Length == 0 ? " " : $"[italic]{ConsoleText.Markup(state.Status)}[/]"),
            Sessions = SessionList(state),
            ConversationTitle = ConsoleText.Sanitize(state.SelectedSession is { } s ? $"{s.UserId} ({s.ConversationId})" : "no session"),
            Messages = Conversation(state),
            Input = new Markup($"[bold]{prompt}>[/] {input}[blink]_[/]"),
            Keys = new Markup($"[grey]{Markup.Escape(KeyHelp)}[/]"),
        };
    }

    private static List<IRenderable> SessionList(ConsoleState state)
    {
        if (state.Sessions.Count == 0)
        {
            return [new Markup("[grey]no sessions[/]")];
        }

        return [.. state.Sessions.Select(s =>
        {
            var unread = state.Unread.GetValueOrDefault(s.ConversationId);
            var marker = s.ConversationId == state.Selected ? "[reverse]>[/] " : "  ";
            var waiting = s.AwaitingAnswerSinceMs > 0 ? " [red]•[/]" : "";
            return new Markup($"{marker}{ConsoleText.Markup(s.UserId)}{(unread > 0 ? $" [bold yellow]({unread})[/]" : "")}{waiting}");
        })];
    }

    private static List<IRenderable> Conversation(ConsoleState state)
    {
        if (state.Selected is null || !state.Histories.TryGetValue(state.Selected, out var history) || history.Count == 0)
        {
            return [new Markup(state.Selected is null ? "[grey]waiting for a session…[/]" : "[grey]loading…[/]")];
        }

        // All of it (at most ConsoleState.HistoryKept): how many fit depends on their length at the panel's width.
        var session = state.SelectedSession;
        return [.. history.Select(m => (IRenderable)Line(state, session, m))];
    }

    private static Markup Line(ConsoleState state, CsSession? session, Message message)
    {
        var time = DateTimeOffset.FromUnixTimeMilliseconds(message.ServerTimeMs).ToLocalTime().ToString("HH:mm", System.Globalization.CultureInfo.InvariantCulture);
        var text = Markup.Escape(ConsoleText.Describe(message));
        if (message.Content is { HasCustomType: true, CustomType: var kind } && kind.StartsWith("cs.", StringComparison.Ordinal))
        {
            return new Markup($"[grey]{time} · {text}[/]");
        }

        // Own replies: from the server they name the shop as sender and this agent as the writer; the SDK's copy of
        // a message this device sent (made from the ack) names the agent as sender.
        var who = message.ActingSenderId == state.AgentId || message.SenderId == state.AgentId ? "[green]you[/]"
            : message.ActingSenderId.Length > 0 ? $"[green]{ConsoleText.Markup(message.ActingSenderId)}[/]"
            : message.SenderId == session?.UserId ? $"[aqua]{ConsoleText.Markup(message.SenderId)}[/]"
            : ConsoleText.Markup(message.SenderId);
        return new Markup($"{time} {who}: {Quote(state, message)}{text}");
    }

    /// <summary>The longest part of a quoted message shown before a reply.</summary>
    private const int QuoteLength = 40;

    /// <summary>
    /// A reply's quote: the start of the message it answers, when the history on screen holds it (the agent sees no seqs,
    /// so a number would say nothing), else that it answers an earlier one.
    /// </summary>
    private static string Quote(ConsoleState state, Message message)
    {
        if (message.Content is not { HasReplyToSeq: true } content)
        {
            return "";
        }

        var quoted = state.Selected is { } selected && state.Histories.TryGetValue(selected, out var history)
            ? history.FirstOrDefault(m => m.Seq == content.ReplyToSeq)
            : null;
        if (quoted is null)
        {
            return "[grey](re an earlier message)[/] ";
        }

        // Cut between text elements: a cut inside a surrogate pair or an emoji sequence would draw a broken character.
        var said = new System.Globalization.StringInfo(ConsoleText.Describe(quoted));
        var shown = said.LengthInTextElements > QuoteLength ? said.SubstringByTextElements(0, QuoteLength) + "…" : said.String;
        return $"[grey](re: {Markup.Escape(shown)})[/] ";
    }

    private static string ConnectionText(ImClientStatus status) => status switch
    {
        ImClientStatus.Connected => "[green]connected[/]",
        ImClientStatus.Reconnecting or ImClientStatus.Connecting => "[yellow]reconnecting…[/]",
        _ => "[red]disconnected[/]",
    };
}
