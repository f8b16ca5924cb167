using System.Globalization;
using System.Text.Json;

namespace Orleans.Im.RobotSamples.Faq;

/// <summary>
/// Keywords to answers, from a JSON file:
/// <c>{"defaultAnswer": "...", "entries": [{"keywords": ["hours", "opening hours"], "answer": "..."}]}</c>.
/// A keyword matches a message when it occurs as whole words, ignoring case (in scripts written without spaces,
/// such as Chinese or Japanese, anywhere). The entry with the most matching keywords answers; on a tie the one with
/// more matched characters, then the one earlier in the file. Nothing matches: the default answer.
/// </summary>
public sealed class FaqBook
{
    /// <summary>Most entries a book may hold.</summary>
    public const int MaxEntries = 1000;

    /// <summary>Longest keyword, in characters.</summary>
    public const int MaxKeywordLength = 100;

    /// <summary>Longest answer, in characters (a message holds 16 KiB).</summary>
    public const int MaxAnswerLength = 4000;

    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web)
    {
        ReadCommentHandling = JsonCommentHandling.Skip,
        AllowTrailingCommas = true,
    };

    private FaqBook(string defaultAnswer, IReadOnlyList<FaqEntry> entries)
    {
        DefaultAnswer = defaultAnswer;
        Entries = entries;
    }

    /// <summary>The answer when no keyword matches.</summary>
    public string DefaultAnswer { get; }

    /// <summary>The entries, in file order.</summary>
    public IReadOnlyList<FaqEntry> Entries { get; }

    /// <summary>Parses and checks a book; null with the reason when it is not usable.</summary>
    public static FaqBook? Parse(string json, out string? error)
    {
        FaqFile? file;
        try
        {
            file = JsonSerializer.Deserialize<FaqFile>(json, Json);
        }
        catch (JsonException ex)
        {
            error = $"not valid JSON: {ex.Message}";
            return null;
        }

        error = Check(file);
        if (error is not null)
        {
            return null;
        }

        var entries = file!.Entries!.Select(e => new FaqEntry(
            e.Keywords!.Select(k => k.Trim()).Where(k => k.Length > 0).Distinct(StringComparer.OrdinalIgnoreCase).ToArray(),
            e.Answer!)).ToArray();
        return new FaqBook(file.DefaultAnswer!, entries);
    }

    /// <summary>The answer to <paramref name="text"/>: the best entry's, or the default.</summary>
    public string Answer(string? text) => Match(text)?.Answer ?? DefaultAnswer;

    /// <summary>The best matching entry, or null when no keyword occurs in <paramref name="text"/>.</summary>
    public FaqEntry? Match(string? text)
    {
        if (string.IsNullOrWhiteSpace(text))
        {
            return null;
        }

        FaqEntry? best = null;
        (int Count, int Characters) bestScore = (0, 0);
        foreach (var entry in Entries)
        {
            var matched = entry.Keywords.Where(k => Occurs(text, k)).ToList();
            var score = (matched.Count, matched.Sum(k => k.Length));
            if (score.Count > bestScore.Count || (score.Count == bestScore.Count && score.Item2 > bestScore.Characters))
            {
                best = entry;
                bestScore = score;
            }
        }

        return best;
    }

    /// <summary>True when <paramref name="keyword"/> occurs in <paramref name="text"/> as whole words, ignoring case.</summary>
    public static bool Occurs(string text, string keyword)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentException.ThrowIfNullOrEmpty(keyword);
        for (var at = text.IndexOf(keyword, StringComparison.OrdinalIgnoreCase); at >= 0;
             at = at + 1 < text.Length ? text.IndexOf(keyword, at + 1, StringComparison.OrdinalIgnoreCase) : -1)
        {
            var end = at + keyword.Length;
            if (Bounded(text, at - 1, keyword[0]) && Bounded(text, end, keyword[^1]))
            {
                return true;
            }
        }

        return false;
    }

    /// <summary>
    /// Whether the text's character at <paramref name="index"/> (beside a keyword's edge character) ends a word: outside
    /// the text, not a letter or digit, or the keyword's edge is in a script written without spaces (where any position
    /// may be a word boundary).
    /// </summary>
    private static bool Bounded(string text, int index, char edge) =>
        index < 0 || index >= text.Length
        || !char.IsLetterOrDigit(text[index])
        || CharUnicodeInfo.GetUnicodeCategory(edge) == UnicodeCategory.OtherLetter;

    private static string? Check(FaqFile? file)
    {
        if (file?.Entries is null || string.IsNullOrWhiteSpace(file.DefaultAnswer))
        {
            return "needs \"defaultAnswer\" and \"entries\"";
        }

        if (file.Entries.Count > MaxEntries)
        {
            return $"more than {MaxEntries} entries";
        }

        if (file.DefaultAnswer.Length > MaxAnswerLength)
        {
            return $"the default answer is longer than {MaxAnswerLength} characters";
        }

        for (var i = 0; i < file.Entries.Count; i++)
        {
            var entry = file.Entries[i];
            // JSON's null in the list is taken as is: a stray one (a bad merge) must be refused, not crash the robot.
            if (entry?.Keywords is null || !entry.Keywords.Any(k => !string.IsNullOrWhiteSpace(k)) || string.IsNullOrWhiteSpace(entry.Answer))
            {
                return $"entry {i + 1} needs \"keywords\" and an \"answer\"";
            }

            if (entry.Keywords.Any(k => k is null || k.Length > MaxKeywordLength) || entry.Answer.Length > MaxAnswerLength)
            {
                return $"entry {i + 1}: keywords at most {MaxKeywordLength} and answers at most {MaxAnswerLength} characters";
            }
        }

        return null;
    }
}
