namespace Orleans.Im.Robots;

/// <summary>
/// A robot's behaviour: called once per incoming message (in seq order within a conversation, conversations in
/// parallel up to <see cref="RobotOptions.MaxConcurrency"/>). The message is marked read after the call returns; a
/// message whose handling did not finish (an exception, a crash, a stop) is handed again later, and its replies are
/// deduplicated by the conversation, so each reply is stored once.
/// </summary>
public interface IRobotHandler
{
    /// <summary>Handles one message; reply with <see cref="RobotMessage.ReplyAsync"/>.</summary>
    Task HandleAsync(RobotMessage message, CancellationToken cancellationToken);
}
