using Orleans.Im.RobotSamples.Faq;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Robots;

[Trait("Category", "Unit")]
public sealed class FaqBookTests
{
    private const string Book = """
        {
          // comments and trailing commas are allowed
          "defaultAnswer": "no idea",
          "entries": [
            { "keywords": ["hours", "open"], "answer": "nine to six" },
            { "keywords": ["ship", "shipping", "delivery"], "answer": "two days" },
            { "keywords": ["return", "refund", "return policy"], "answer": "thirty days" },
            { "keywords": ["退货", "退款"], "answer": "三十天" },
          ],
        }
        """;

    private static FaqBook Parse(string json = Book)
    {
        var book = FaqBook.Parse(json, out var error);
        Assert.True(book is not null, error);
        return book;
    }

    [Theory]
    [InlineData("When are you OPEN?", "nine to six")]
    [InlineData("shipping to Berlin", "two days")]
    [InlineData("what is your return policy?", "thirty days")]
    [InlineData("我想退货", "三十天")]
    [InlineData("hello there", "no idea")]
    [InlineData("", "no idea")]
    public void A_message_gets_the_answer_of_its_keywords_or_the_default(string text, string answer) =>
        Assert.Equal(answer, Parse().Answer(text));

    [Theory]
    [InlineData("reopened yesterday", "open")]
    [InlineData("shipment", "ship")]
    [InlineData("hours-long wait", "hours")]
    [InlineData("(refund)", "refund")]
    public void Keywords_match_whole_words_only(string text, string keyword)
    {
        var whole = text.Split(' ', '-', '(', ')').Contains(keyword, StringComparer.OrdinalIgnoreCase);
        Assert.Equal(whole, FaqBook.Occurs(text, keyword));
    }

    [Fact]
    public void The_entry_with_more_matching_keywords_wins_and_ties_go_to_the_longer_match_then_the_file_order()
    {
        var book = Parse();
        // "delivery" and "ship" (two keywords) beat "refund" (one).
        Assert.Equal("two days", book.Answer("refund the delivery, or ship it again?"));
        // One keyword each: "return policy" is longer than "open".
        Assert.Equal("thirty days", book.Answer("open question on your return policy"));
        // One keyword each, same length: the earlier entry.
        Assert.Equal("nine to six", book.Answer("open or ship"));
    }

    [Theory]
    [InlineData("not json", "not valid JSON")]
    [InlineData("""{"entries": []}""", "defaultAnswer")]
    [InlineData("""{"defaultAnswer": "x"}""", "entries")]
    [InlineData("""{"defaultAnswer": "x", "entries": [{"keywords": [" "], "answer": "y"}]}""", "entry 1")]
    [InlineData("""{"defaultAnswer": "x", "entries": [{"keywords": ["a"]}]}""", "entry 1")]
    [InlineData("""{"defaultAnswer": "x", "entries": [{"keywords": ["a"], "answer": "y"}, null]}""", "entry 2")]
    [InlineData("""{"defaultAnswer": "x", "entries": [{"keywords": [null], "answer": "y"}]}""", "entry 1")]
    public void A_book_that_is_not_usable_is_refused_with_the_reason(string json, string reason)
    {
        Assert.Null(FaqBook.Parse(json, out var error));
        Assert.Contains(reason, error, StringComparison.Ordinal);
    }

    [Fact]
    public void Limits_are_checked()
    {
        var tooLong = new string('k', FaqBook.MaxKeywordLength + 1);
        Assert.Null(FaqBook.Parse($$"""{"defaultAnswer": "x", "entries": [{"keywords": ["{{tooLong}}"], "answer": "y"}]}""", out _));
        var many = string.Join(",", Enumerable.Repeat("""{"keywords": ["a"], "answer": "y"}""", FaqBook.MaxEntries + 1));
        Assert.Null(FaqBook.Parse($$"""{"defaultAnswer": "x", "entries": [{{many}}]}""", out _));
    }

    [Fact]
    public void The_sample_books_in_deploy_robots_load()
    {
        foreach (var file in Directory.GetFiles(Path.Combine(RepositoryPaths.Root, "deploy", "robots"), "*.json"))
        {
            var book = FaqBook.Parse(File.ReadAllText(file), out var error);
            Assert.True(book is not null, $"{file}: {error}");
            Assert.NotEmpty(book.Entries);
        }
    }
}
