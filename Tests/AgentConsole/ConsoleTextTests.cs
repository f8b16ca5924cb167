using Orleans.Im.AgentConsole;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>What the agent console lets through to the agent's terminal from customers' text, and how it shows a message.</summary>
[Trait("Category", "Unit")]
public sealed class ConsoleTextTests
{
    [Fact]
    public void Control_characters_and_escape_sequences_never_reach_the_terminal()
    {
        // CSI (clear screen, recolour), OSC (set the window title), the 8-bit CSI, BEL, DEL, NUL, a bidi override.
        var hostile = "a\u001b[2J\u001b[31mb\u001b]0;pwned\u0007c\u009b6nd\u007fe\0f\u202eg";

        var safe = ConsoleText.Sanitize(hostile);

        Assert.DoesNotContain(safe, c => char.IsControl(c) || c == '\u202e');
        Assert.Equal("a\uFFFD[2J\uFFFD[31mb\uFFFD]0;pwned\uFFFDc\uFFFD6nd\uFFFDe\uFFFDf\uFFFDg", safe);
    }

    [Fact]
    public void Line_breaks_keep_a_message_on_one_line_and_plain_text_is_left_alone()
    {
        Assert.Equal($"one{ConsoleText.LineBreak}two{ConsoleText.LineBreak}three four", ConsoleText.Sanitize("one\r\ntwo\nthree\tfour"));
        Assert.Equal("Where is my parcel? 包裹在哪里 ✓", ConsoleText.Sanitize("Where is my parcel? 包裹在哪里 ✓"));
        Assert.Equal("", ConsoleText.Sanitize(null));
    }

    [Fact]
    public void Markup_is_escaped_after_sanitising()
    {
        Assert.Equal("[[bold]]x\uFFFD[[0m", ConsoleText.Markup("[bold]x\u001b[0m"));
    }

    [Fact]
    public void A_message_without_text_says_what_it_is_instead_of_showing_a_blank_line()
    {
        var image = new Message { Seq = 1, Content = new Content { Type = ContentType.Image, Media = new Media { Url = "https://example.invalid/a.png" } } };
        var file = new Message { Seq = 2, Content = new Content { Type = ContentType.File, Media = new Media { FileName = "invoice\u001b.pdf" } } };
        var recalled = new Message { Seq = 3, State = MessageState.Recalled };
        var edited = new Message { Seq = 4, State = MessageState.Edited, Content = new Content { Type = ContentType.Text, Text = "fixed" } };
        var empty = new Message { Seq = 5, Content = new Content { Type = ContentType.Text, Text = "" } };

        Assert.Equal("(image)", ConsoleText.Describe(image));
        Assert.Equal("(file invoice\uFFFD.pdf)", ConsoleText.Describe(file));
        Assert.Equal("(recalled)", ConsoleText.Describe(recalled));
        Assert.Equal("fixed (edited)", ConsoleText.Describe(edited));
        Assert.Equal("", ConsoleText.Describe(empty));
    }

    [Theory]
    [InlineData("ok \U0001F44D", "ok ")]
    [InlineData("cafe\u0301", "caf")]
    [InlineData("\U0001F468\u200D\U0001F469\u200D\U0001F467", "")]
    [InlineData("a\U0001F1E8\U0001F1F3", "a")]
    [InlineData("ab", "a")]
    [InlineData("", "")]
    public void Backspace_removes_the_last_text_element(string text, string left) =>
        Assert.Equal(left, ConsoleText.RemoveLastTextElement(text));
}
