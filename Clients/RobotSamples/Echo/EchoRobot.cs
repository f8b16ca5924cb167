using Orleans.Im.Robots;

namespace Orleans.Im.RobotSamples.Echo;

/// <summary>Replies with exactly what it got (text, media, location, custom), in the same conversation.</summary>
public sealed class EchoRobot : IRobotHandler
{
    public async Task HandleAsync(RobotMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        // What it echoes answers the message it came from, not whatever that one answered.
        (await message.ReplyAsync(message.Message.Content! with { ReplyToSeq = message.Message.Seq })).ThrowIfRetryable();
    }
}
