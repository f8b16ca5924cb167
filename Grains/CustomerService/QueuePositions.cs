namespace Orleans.Im.CustomerService;

/// <summary>
/// When a waiting user is told their queue position again. Every change near the head, then only moves of a fifth: each
/// assignment shifts everyone behind it, and a notice is a stored message (with its push), so telling every change cost
/// a queue of N users about N²/2 messages to drain, all from the one queue grain, behind which their messages waited.
/// </summary>
public static class QueuePositions
{
    /// <summary>Positions told at every change: where a user is watching the count.</summary>
    public const int ExactUpTo = 10;

    /// <summary>Further back, a position is told again once it moved by this share of the last one told (1/5: 20 %).</summary>
    public const int StepDivisor = 5;

    /// <summary>Whether a user last told <paramref name="told"/> (0: never) is told <paramref name="position"/> now.</summary>
    public static bool ShouldTell(int told, int position) =>
        position != told
        && (told == 0 || position <= ExactUpTo || Math.Abs(position - told) * StepDivisor >= told);
}
