using Orleans.Im.AgentConsole;
using Orleans.Im.Protocol.V1;
using Spectre.Console.Rendering;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>The agent console's screen fits the terminal whatever the conversation holds, header and status first.</summary>
[Trait("Category", "Unit")]
public sealed class ConsoleScreenTests
{
    private const string First = "cs:shop:u1";
    private const string Complaint = "I ordered the blue one and got the red one again. ";

    [Theory]
    [InlineData(80, 24)]
    [InlineData(120, 40)]
    [InlineData(34, 24)]
    [InlineData(20, 10)]
    [InlineData(40, 6)]
    [InlineData(200, 3)]
    [InlineData(80, 2)]
    [InlineData(1, 1)]
    public void The_screen_never_outgrows_the_terminal_and_keeps_the_header_and_status(int width, int height)
    {
        var state = BusyConversation();

        var lines = ScreenText.Render(state, width, height);

        Assert.True(lines.Length <= height, $"{width}x{height}: {lines.Length} lines");
        Assert.All(lines, l => Assert.True(new Segment(l).CellCount() <= width, $"{width}x{height}: a line of {new Segment(l).CellCount()} cells: '{l}'"));
        if (width >= 20)
        {
            Assert.StartsWith("OFFLINE", lines[0], StringComparison.Ordinal);
        }

        if (width >= 20 && height >= 3)
        {
            Assert.Contains(lines, l => l.Contains("reply to u1", StringComparison.Ordinal));
        }
    }

    [Fact]
    public void A_long_message_is_clipped_with_an_ellipsis_and_the_newest_is_shown_with_the_input_and_keys()
    {
        var state = BusyConversation();

        var lines = ScreenText.Render(state, 80, 24);

        Assert.Equal(24, lines.Length);
        Assert.Contains(lines, l => l.Contains("hello?", StringComparison.Ordinal));
        // The complaint: its first lines, the last of them ending in an ellipsis, then the next message.
        var complaint = Array.FindIndex(lines, l => l.Contains("u1: I ordered", StringComparison.Ordinal));
        Assert.True(complaint >= 0, string.Join(Environment.NewLine, lines));
        var end = complaint + ScreenLayout.MessageMaxLines - 1;
        Assert.EndsWith("…", lines[end].TrimEnd(' ', '│'), StringComparison.Ordinal);
        Assert.Contains(" u1:", lines[end + 1], StringComparison.Ordinal);
        Assert.Contains(lines, l => l.Contains("Reply>", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("Ctrl+E quit", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("u2", StringComparison.Ordinal));
    }

    [Fact]
    public void Short_messages_fill_the_panel_newest_last()
    {
        var state = TwoSessions();
        state.Merge(First, Enumerable.Range(1, 60).Select(seq => Text(seq, $"message {seq}")), state.LoadGeneration);

        var lines = ScreenText.Render(state, 120, 40);

        Assert.Equal(40, lines.Length);
        Assert.Contains(lines, l => l.Contains("message 60", StringComparison.Ordinal));
        Assert.DoesNotContain(lines, l => l.Contains("message 1 ", StringComparison.Ordinal));
    }

    [Fact]
    public void A_reply_shows_the_start_of_the_message_it_answers_or_that_it_answers_an_earlier_one()
    {
        var state = TwoSessions();
        var answer = Text(3, "the blue one, please");
        answer.Content.ReplyToSeq = 2;
        var late = Text(4, "still waiting");
        late.Content.ReplyToSeq = 1;
        state.Merge(First, [Text(2, "which colour did you order, the blue one or the red one?"), answer, late], state.LoadGeneration);

        var lines = ScreenText.Render(state, 160, 24);

        Assert.Contains(lines, l => l.Contains("u1: (re: which colour did you order, the blue one…) the blue one, please", StringComparison.Ordinal));
        Assert.Contains(lines, l => l.Contains("u1: (re an earlier message) still waiting", StringComparison.Ordinal));
    }

    private static ConsoleState BusyConversation()
    {
        var state = TwoSessions();
        state.Status = "reply to u1 not sent: no answer in 20 s; it is on the input line: Enter sends it again, Esc discards it";
        // A complaint of ~1,500 characters (the server takes up to 16 KB), a word longer than any line, then a question.
        state.Merge(First, [Text(1, string.Concat(Enumerable.Repeat(Complaint, 30))), Text(2, new string('x', 400)), Text(3, "where is my parcel? 包裹在哪里 👍"), Text(4, "hello?")], state.LoadGeneration);
        return state;
    }

    private static ConsoleState TwoSessions()
    {
        var state = new ConsoleState("agent", "shop")
        {
            View = new CsAgentView
            {
                Sessions = { new CsSession { ConversationId = First, UserId = "u1", SessionId = "s1" }, new CsSession { ConversationId = "cs:shop:u2", UserId = "u2", SessionId = "s2" } },
            },
        };
        state.Move(0);
        return state;
    }

    private static Message Text(long seq, string text) =>
        new() { ConversationId = First, Seq = seq, SenderId = "u1", Content = new Content { Type = ContentType.Text, Text = text } };
}
