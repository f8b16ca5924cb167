namespace Orleans.Im.Users;

/// <summary>How user grains keep their conversation index. Bound from <c>IM:Users</c>.</summary>
public sealed class UserOptions
{
    public const string Section = "IM:Users";

    /// <summary>
    /// How often changed index entries from new messages are written (in one batch per user). Read positions, settings
    /// and membership are written at once; a crash before a flush loses nothing, because the index is rebuilt from
    /// the message log on activation.
    /// </summary>
    public TimeSpan IndexFlushInterval { get; set; } = TimeSpan.FromSeconds(2);
}
