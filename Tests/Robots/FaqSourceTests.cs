using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Im.RobotSamples.Faq;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Robots;

[Trait("Category", "Unit")]
public sealed class FaqSourceTests : IDisposable
{
    private readonly string _directory = Path.Combine(Path.GetTempPath(), "faq-" + Guid.NewGuid().ToString("N"));

    public FaqSourceTests() => Directory.CreateDirectory(_directory);

    public void Dispose() => Directory.Delete(_directory, recursive: true);

    [Fact]
    public async Task A_saved_change_is_picked_up_and_a_broken_file_keeps_the_previous_answers()
    {
        var path = Path.Combine(_directory, "faq.json");
        await File.WriteAllTextAsync(path, Book("first answer"));
        using var source = FaqSource.Open(path, NullLogger<FaqSource>.Instance, out var error);
        Assert.True(source is not null, error);
        Assert.Equal("first answer", source.Book.Answer("hours?"));

        await File.WriteAllTextAsync(path, Book("second answer"));
        Assert.Equal("second answer", await AnswerWhenAsync(source, "second answer"));

        // A broken save is ignored; the next good one is picked up.
        await File.WriteAllTextAsync(path, "{ not json");
        await File.WriteAllTextAsync(Path.Combine(_directory, "other.json"), "{}");
        await File.WriteAllTextAsync(path, Book("third answer"));
        Assert.Equal("third answer", await AnswerWhenAsync(source, "third answer"));
    }

    [Fact]
    public void A_file_that_is_missing_or_broken_at_start_is_refused()
    {
        Assert.Null(FaqSource.Open(Path.Combine(_directory, "missing.json"), NullLogger<FaqSource>.Instance, out var missing));
        Assert.NotNull(missing);
        var broken = Path.Combine(_directory, "broken.json");
        File.WriteAllText(broken, "[]");
        Assert.Null(FaqSource.Open(broken, NullLogger<FaqSource>.Instance, out var error));
        Assert.NotNull(error);
    }

    private static Task<string> AnswerWhenAsync(FaqSource source, string expected) =>
        Eventually.ReturnsAsync(() => Task.FromResult(source.Book.Answer("hours?")), answer => answer == expected);

    private static string Book(string answer) =>
        $$"""{"defaultAnswer": "no idea", "entries": [{"keywords": ["hours"], "answer": "{{answer}}"}]}""";
}
