namespace Orleans.Im;

/// <summary>
/// The one place where grain keys are built and parsed. Every other piece of code asks this class,
/// so a key's shape can never drift between the silo, the edges and the clients.
/// </summary>
public static class GrainKeys
{
    /// <summary>The longest user id accepted, in characters.</summary>
    public const int MaxUserIdLength = 64;

    /// <summary>
    /// True when <paramref name="userId"/> is a well-formed user id: 1 to <see cref="MaxUserIdLength"/> characters
    /// of ASCII letters, digits, '-', '_' and '.'. The character set keeps ids safe inside composite keys,
    /// which use ':' as separator.
    /// </summary>
    public static bool IsValidUserId(string? userId)
    {
        if (string.IsNullOrEmpty(userId) || userId.Length > MaxUserIdLength)
        {
            return false;
        }

        foreach (var c in userId)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }
}
