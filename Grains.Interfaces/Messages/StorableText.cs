namespace Orleans.Im.Messages;

/// <summary>
/// Text that PostgreSQL can store. Its <c>text</c> type refuses the NUL character (U+0000) and <c>jsonb</c> refuses its
/// <c>\u0000</c> escape; UTF-8, which every string is sent to the database in, has no encoding for half of a surrogate
/// pair. A string a client supplies that reaches a table is checked with <see cref="IsStorable"/> (and refused as
/// invalid input when it fails), and cut with <see cref="Clip"/>, never with a plain range, so that a cut never splits
/// an emoji or another character outside the Basic Multilingual Plane.
/// </summary>
public static class StorableText
{
    /// <summary>True when <paramref name="text"/> is null, or holds no NUL and only whole surrogate pairs.</summary>
    public static bool IsStorable(string? text)
    {
        if (text is null)
        {
            return true;
        }

        for (var i = 0; i < text.Length; i++)
        {
            var c = text[i];
            if (c == '\0' || char.IsLowSurrogate(c))
            {
                return false;
            }

            if (char.IsHighSurrogate(c))
            {
                if (i + 1 == text.Length || !char.IsLowSurrogate(text[i + 1]))
                {
                    return false;
                }

                i++;
            }
        }

        return true;
    }

    /// <summary>
    /// <paramref name="text"/> cut to at most <paramref name="maxLength"/> UTF-16 units; one unit shorter when the cut
    /// would leave the first half of a surrogate pair.
    /// </summary>
    public static string Clip(string text, int maxLength)
    {
        ArgumentNullException.ThrowIfNull(text);
        ArgumentOutOfRangeException.ThrowIfNegative(maxLength);
        if (text.Length <= maxLength)
        {
            return text;
        }

        var cut = maxLength > 0 && char.IsHighSurrogate(text[maxLength - 1]) ? maxLength - 1 : maxLength;
        return text[..cut];
    }
}
