namespace Orleans.Im.Conversations;

/// <summary>The result of <see cref="IMessageLog.AppendAsync"/>.</summary>
public readonly record struct AppendOutcome(AppendStatus Status, long Seq, DateTimeOffset ServerTime);
