using Orleans.Im.Robots;

namespace Orleans.Im.RobotSamples.Echo;

/// <summary>Replies with exactly what it got (text, media, location, custom), in the same conversation.</summary>
public sealed class EchoRobot : IRobotHandler
{
    public async Task HandleAsync(RobotMessage message, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(message);
        (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
    }
}
