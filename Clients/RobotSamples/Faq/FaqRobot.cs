using Orleans.Im.Conversations;
using Orleans.Im.Robots;

namespace Orleans.Im.RobotSamples.Faq;

/// <summary>Answers every text message from its FAQ book (the best keyword match, or the default answer).</summary>
public sealed class FaqRobot(FaqSource faq) : IRobotHandler
{
    public async Task HandleAsync(RobotMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        // In a group the answer quotes the question: the robot may answer several people in turn.
        var inGroup = message.Address.Kind == ConversationKind.Group;
        (await message.ReplyTextAsync(faq.Book.Answer(message.Text), quote: inGroup)).ThrowIfRetryable();
    }
}
