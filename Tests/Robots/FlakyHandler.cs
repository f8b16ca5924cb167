using System.Collections.Concurrent;
using Orleans.Im.Robots;

namespace Orleans.Im.Tests.Robots;

/// <summary>A robot's behaviour that fails the first attempt at each message, then echoes it; it counts the attempts.</summary>
internal sealed class FlakyHandler : IRobotHandler
{
    private readonly ConcurrentDictionary<long, int> _attempts = new();

    public int AttemptsAt(long seq) => _attempts.GetValueOrDefault(seq);

    public async Task HandleAsync(RobotMessage message, CancellationToken cancellationToken)
    {
        if (_attempts.AddOrUpdate(message.Message.Seq, 1, (_, n) => n + 1) == 1)
        {
            throw new InvalidOperationException("the first attempt fails");
        }

        (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
    }
}
