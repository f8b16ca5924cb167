namespace Orleans.Im.Conversations;

/// <summary>What became of one message of <see cref="IMessageLog.AppendRunAsync"/>.</summary>
public readonly record struct AppendOutcome(AppendStatus Status, long Seq, DateTimeOffset ServerTime);
