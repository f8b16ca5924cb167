using Spectre.Console;
using Spectre.Console.Rendering;

namespace Orleans.Im.AgentConsole;

/// <summary>
/// The console's screen cut to the terminal's size when it is drawn: never more lines than the terminal has (a live
/// display taller than the terminal loses its top, and with it the ONLINE/OFFLINE header and the "not sent" status).
/// Room is given by priority: the header, the status line, the input line, the sessions and conversation, the keys.
/// The conversation panel is budgeted in lines as drawn at its width, newest messages kept, each clipped to
/// <see cref="MessageMaxLines"/> lines. Built from immutable renderables taken under the state's lock, so drawing it
/// later (on the live display's thread) reads nothing that changes.
/// </summary>
internal sealed class ScreenLayout : IRenderable
{
    /// <summary>The header wraps to at most this many lines on a narrow terminal; the agent's state comes first in it.</summary>
    public const int HeaderMaxLines = 2;

    /// <summary>A long status (a dropped reply's text) shows this many lines at most.</summary>
    public const int StatusMaxLines = 2;

    /// <summary>The end of a long input line (where the agent types) shows in this many lines at most.</summary>
    public const int InputMaxLines = 3;

    /// <summary>The key help takes this many lines at most, and is the first thing left out when the terminal is short.</summary>
    public const int KeysMaxLines = 2;

    /// <summary>A message takes this many lines at most in the conversation; a longer one ends in an ellipsis.</summary>
    public const int MessageMaxLines = 4;

    /// <summary>The sessions pane's width on a terminal wide enough for both panes.</summary>
    public const int SessionsWidth = 30;

    /// <summary>Narrower than this, the sessions pane is left out and the conversation takes the width.</summary>
    public const int BothPanesMinWidth = 60;

    /// <summary>Narrower than this, nothing is drawn in a panel: a border and its padding would leave no room for text.</summary>
    public const int PanelMinWidth = 8;

    /// <summary>A panel's borders take two lines; the body is drawn only with at least one line inside them.</summary>
    private const int BodyMinLines = 3;

    /// <summary>A panel's border and padding take this many columns.</summary>
    private const int PanelFrameWidth = 4;

    private const string Ellipsis = "…";

    public required IRenderable Header { get; init; }

    public required IRenderable Status { get; init; }

    public required IReadOnlyList<IRenderable> Sessions { get; init; }

    public required string ConversationTitle { get; init; }

    /// <summary>The selected conversation's messages, oldest first; or the note shown instead (waiting, loading).</summary>
    public required IReadOnlyList<IRenderable> Messages { get; init; }

    public required IRenderable Input { get; init; }

    public required IRenderable Keys { get; init; }

    public Measurement Measure(RenderOptions options, int maxWidth) => new(Math.Max(1, maxWidth), Math.Max(1, maxWidth));

    public IEnumerable<Segment> Render(RenderOptions options, int maxWidth)
    {
        ArgumentNullException.ThrowIfNull(options);
        var width = Math.Max(1, maxWidth);
        var height = Math.Max(1, options.Height ?? options.ConsoleSize.Height);
        var lines = new List<SegmentLine>();
        var left = height;
        Take(lines, Lines(options, Header, width), HeaderMaxLines, ref left);
        Take(lines, Lines(options, Status, width), StatusMaxLines, ref left);

        var keys = Lines(options, Keys, width).Take(KeysMaxLines).ToList();
        var input = width >= PanelMinWidth ? InputPanel(options, width) : [];
        if (input.Count > 0 && left >= input.Count + BodyMinLines)
        {
            var withKeys = left >= input.Count + BodyMinLines + keys.Count;
            var body = left - input.Count - (withKeys ? keys.Count : 0);
            lines.AddRange(Body(options, width, body));
            lines.AddRange(input);
            lines.AddRange(withKeys ? keys : []);
        }
        else if (input.Count > 0 && left >= input.Count)
        {
            lines.AddRange(input);
        }
        else if (left > 0)
        {
            // Too small for a panel: the end of the input line, bare.
            lines.AddRange(Lines(options, Input, width).TakeLast(1));
        }

        return new SegmentLines(lines).Render(options, width);
    }

    private static void Take(List<SegmentLine> lines, List<SegmentLine> block, int most, ref int left)
    {
        var taken = Math.Min(Math.Min(block.Count, most), left);
        lines.AddRange(block.Take(taken));
        left -= taken;
    }

    private List<SegmentLine> InputPanel(RenderOptions options, int width)
    {
        var content = Lines(options, Input, width - PanelFrameWidth).TakeLast(InputMaxLines).ToList();
        return Lines(options, new Panel(new SegmentLines(content)).Padding(1, 0, 1, 0).Expand(), width);
    }

    /// <summary>The sessions and the conversation side by side (the conversation alone when narrow), exactly <paramref name="height"/> lines.</summary>
    private List<SegmentLine> Body(RenderOptions options, int width, int height)
    {
        var sessionsWidth = width >= BothPanesMinWidth ? Math.Min(SessionsWidth, width / 3) : 0;
        var conversationWidth = width - sessionsWidth;
        var inside = height - 2;
        var conversation = Framed(options, ConversationLines(options, conversationWidth - PanelFrameWidth, inside), ConversationTitle, conversationWidth, height);
        if (sessionsWidth == 0)
        {
            return conversation;
        }

        var sessions = Framed(options, SessionLines(options, sessionsWidth - PanelFrameWidth, inside), "Sessions", sessionsWidth, height);
        var body = new List<SegmentLine>(height);
        for (var i = 0; i < height; i++)
        {
            var line = new SegmentLine();
            line.AddRange(PadTo(sessions[i], sessionsWidth));
            line.AddRange(PadTo(conversation[i], conversationWidth));
            body.Add(line);
        }

        return body;
    }

    /// <summary>A panel of exactly <paramref name="height"/> lines around <paramref name="content"/> (which fits inside).</summary>
    private static List<SegmentLine> Framed(RenderOptions options, List<SegmentLine> content, string title, int width, int height)
    {
        while (content.Count < height - 2)
        {
            content.Add([]);
        }

        var panel = new Panel(new SegmentLines(content)).Padding(1, 0, 1, 0).Expand()
            .Header(Markup.Escape(Fit(title, width - PanelFrameWidth)));
        var lines = Lines(options, panel, width).Take(height).ToList();
        while (lines.Count < height)
        {
            lines.Add([]);
        }

        return lines;
    }

    private List<SegmentLine> SessionLines(RenderOptions options, int width, int height)
    {
        var lines = Sessions.Select(s => Lines(options, s, width).Take(1).Select(l => Clip(l, width)).FirstOrDefault() ?? []).ToList();
        if (lines.Count <= height)
        {
            return lines;
        }

        // More sessions than lines: the last line says how many are not shown.
        var shown = lines.Take(Math.Max(0, height - 1)).ToList();
        shown.Add([new Segment(Fit($"+{lines.Count - shown.Count} more", width))]);
        return shown.Take(height).ToList();
    }

    /// <summary>The newest messages that fit in <paramref name="height"/> lines at <paramref name="width"/>, oldest first.</summary>
    private List<SegmentLine> ConversationLines(RenderOptions options, int width, int height)
    {
        var kept = new List<SegmentLine>();
        if (width < 1 || height < 1)
        {
            return kept;
        }

        for (var i = Messages.Count - 1; i >= 0; i--)
        {
            var message = Clipped(Lines(options, Messages[i], width), MessageMaxLines, width);
            var room = height - kept.Count;
            if (message.Count > room)
            {
                if (kept.Count > 0)
                {
                    break;
                }

                // The newest message, taller than the whole panel: its beginning.
                message = Clipped(message, room, width);
            }

            kept.InsertRange(0, message);
            if (kept.Count >= height)
            {
                break;
            }
        }

        return kept;
    }

    private static List<SegmentLine> Clipped(List<SegmentLine> lines, int most, int width)
    {
        if (lines.Count <= most)
        {
            return lines;
        }

        var kept = lines.Take(most).ToList();
        var last = new SegmentLine();
        last.AddRange(Segment.Truncate(kept[^1], Math.Max(0, width - 1)));
        last.Add(new Segment(Ellipsis, kept[^1].LastOrDefault()?.Style ?? Style.Plain));
        kept[^1] = last;
        return kept;
    }

    private static SegmentLine Clip(SegmentLine line, int width)
    {
        var clipped = new SegmentLine();
        clipped.AddRange(Segment.Truncate(line, width));
        return clipped;
    }

    private static SegmentLine PadTo(SegmentLine line, int width)
    {
        var padded = Clip(line, width);
        var missing = width - padded.CellCount();
        if (missing > 0)
        {
            padded.Add(Segment.Padding(missing));
        }

        return padded;
    }

    /// <summary><paramref name="text"/> cut to <paramref name="cells"/> columns, an ellipsis marking the cut.</summary>
    private static string Fit(string text, int cells)
    {
        if (cells < 1)
        {
            return "";
        }

        if (new Segment(text).CellCount() <= cells)
        {
            return text;
        }

        var cut = text;
        while (cut.Length > 0 && new Segment(cut + Ellipsis).CellCount() > cells)
        {
            cut = ConsoleText.RemoveLastTextElement(cut);
        }

        return cut + Ellipsis;
    }

    private static List<SegmentLine> Lines(RenderOptions options, IRenderable renderable, int width)
    {
        if (width < 1)
        {
            return [];
        }

        return Segment.SplitLines(renderable.Render(options, width), width);
    }
}
