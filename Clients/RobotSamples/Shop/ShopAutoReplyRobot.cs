using Orleans.Im.Conversations;
using Orleans.Im.RobotSamples.Faq;
using Orleans.Im.Robots;

namespace Orleans.Im.RobotSamples.Shop;

/// <summary>
/// A shop's auto-reply robot. The shop's customer-service settings name it (<c>autoReplyRobotId</c>); while no human
/// agent is online the queue hands it the waiting sessions, so it receives the customers' messages in
/// <c>cs:{shop}:{user}</c> and answers as the shop (the conversation stores its replies with the shop as sender). It
/// answers from a FAQ file when it has one, else with a fixed text; it ignores every other conversation.
/// </summary>
public sealed class ShopAutoReplyRobot(string shopId, FaqSource? faq) : IRobotHandler
{
    /// <summary>The answer without a FAQ file.</summary>
    public const string OfflineAnswer = "Thanks for your message! Our team is offline right now; you keep your place in the queue and an agent will answer here as soon as one is back.";

    public async Task HandleAsync(RobotMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (message.Address.Kind != ConversationKind.CustomerService || message.Address.First != shopId)
        {
            return;
        }

        var answer = faq?.Book.Answer(message.Text) ?? OfflineAnswer;
        (await message.ReplyTextAsync(answer)).ThrowIfRetryable();
    }
}
