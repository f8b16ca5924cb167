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
        "Tab/↓ next · Shift+Tab/↑ previous · Enter send · Ctrl+G online/offline · Ctrl+T transfer · Ctrl+X close · Ctrl+R reload · Ctrl+E quit";

    public static IRenderable Render(ConsoleState state, int height)
    {
        ArgumentNullException.ThrowIfNull(state);
        var online = state.View?.Online == true;
        var header = new Markup(
            $"[bold]Orleans.Im agent console[/] — {ConsoleText.Markup(state.AgentId)} @ {ConsoleText.Markup(state.ShopId)}   "
            + (online ? "[green bold]ONLINE[/]" : state.WantOnline == true ? "[yellow bold]WAITING FOR CONNECTION[/]" : "[grey bold]OFFLINE[/]")
            + $"   queue: [bold]{state.View?.QueueLength ?? 0}[/]"
            + $"   sessions: {state.Sessions.Count}/{state.View?.MaxSessions ?? 0}"
            + $"   connection: {ConnectionText(state.Connection)}");

        // Two lines of header, three of input, one of keys, borders: the rest is for the conversation.
        var bodyLines = Math.Max(height - 9, 5);
        var body = new Table().NoBorder().HideHeaders().Expand();
        body.AddColumn(new TableColumn("").Width(30));
        body.AddColumn(new TableColumn(""));
        body.AddRow(
            new Panel(SessionList(state)).Header("Sessions").Expand(),
            new Panel(Conversation(state, bodyLines)).Header(ConsoleText.Markup(state.SelectedSession is { } s ? $"{s.UserId} ({s.ConversationId})" : "no session")).Expand());

        var prompt = state.Mode == InputMode.TransferTarget ? "Transfer to agent (empty: back to the queue)" : "Reply";
        var input = new Panel(new Markup($"[bold]{prompt}>[/] {ConsoleText.Markup(state.Input)}[blink]_[/]")).Expand();
        return new Rows(
            header,
            new Markup(state.Status.Length == 0 ? " " : $"[italic]{ConsoleText.Markup(state.Status)}[/]"),
            body,
            input,
            new Markup($"[grey]{Markup.Escape(KeyHelp)}[/]"));
    }

    private static IRenderable SessionList(ConsoleState state)
    {
        if (state.Sessions.Count == 0)
        {
            return new Markup("[grey]no sessions[/]");
        }

        var lines = state.Sessions.Select(s =>
        {
            var unread = state.Unread.GetValueOrDefault(s.ConversationId);
            var marker = s.ConversationId == state.Selected ? "[reverse]>[/] " : "  ";
            var waiting = s.AwaitingAnswerSinceMs > 0 ? " [red]•[/]" : "";
            return new Markup($"{marker}{ConsoleText.Markup(s.UserId)}{(unread > 0 ? $" [bold yellow]({unread})[/]" : "")}{waiting}");
        });
        return new Rows(lines);
    }

    private static IRenderable Conversation(ConsoleState state, int lines)
    {
        if (state.Selected is null || !state.Histories.TryGetValue(state.Selected, out var history) || history.Count == 0)
        {
            return new Markup(state.Selected is null ? "[grey]waiting for a session…[/]" : "[grey]loading…[/]");
        }

        var session = state.SelectedSession;
        return new Rows(history.TakeLast(lines).Select(m => Line(state, session, m)));
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
        return new Markup($"{time} {who}: {text}");
    }

    private static string ConnectionText(ImClientStatus status) => status switch
    {
        ImClientStatus.Connected => "[green]connected[/]",
        ImClientStatus.Reconnecting or ImClientStatus.Connecting => "[yellow]reconnecting…[/]",
        _ => "[red]disconnected[/]",
    };
}
