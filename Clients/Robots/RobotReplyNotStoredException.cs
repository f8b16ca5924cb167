using Orleans.Im.Messages;

namespace Orleans.Im.Robots;

/// <summary>
/// A reply was refused for a passing reason (rate limited, storage unavailable): thrown by
/// <see cref="RobotReplies.ThrowIfRetryable"/> so that the robot handles the message again later, with a growing delay,
/// for as long as it takes. Unlike other failures of a handler, it never makes the robot give up on the message. An
/// <see cref="InvalidOperationException"/>, as this refusal was before it had a type of its own.
/// </summary>
public sealed class RobotReplyNotStoredException : InvalidOperationException
{
    public RobotReplyNotStoredException()
    {
    }

    public RobotReplyNotStoredException(string message)
        : base(message)
    {
    }

    public RobotReplyNotStoredException(string message, Exception innerException)
        : base(message, innerException)
    {
    }

    /// <summary>A refusal of a reply: its status and the conversation's reason.</summary>
    public RobotReplyNotStoredException(SendResult result)
        : base($"reply not stored ({result?.Status}): {result?.Error}") =>
        Status = result?.Status ?? SendStatus.Unavailable;

    /// <summary>Why the reply was not stored: rate limited or unavailable.</summary>
    public SendStatus Status { get; } = SendStatus.Unavailable;
}
