namespace Orleans.Im.Conversations;

/// <summary>Where a conversation's log ends, and the last message a given user sent in it (0 when none).</summary>
public readonly record struct LogPosition(long LastSeq, long LastOwnSeq);
