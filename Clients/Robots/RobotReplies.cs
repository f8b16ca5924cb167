using Orleans.Im.Messages;

namespace Orleans.Im.Robots;

/// <summary>
/// The client message ids of robot replies (<see cref="RobotReplyIds"/>: <c>robot-{seq}-{index}</c>), and what a handler
/// does with a reply that was refused.
/// </summary>
public static class RobotReplies
{
    /// <summary>The client message id of reply <paramref name="index"/> to the message at <paramref name="seq"/>.</summary>
    public static string ClientMsgId(long seq, int index) => RobotReplyIds.Format(seq, index);

    /// <summary>The seq of the message a robot reply answered, when <paramref name="clientMsgId"/> is a robot reply's id.</summary>
    public static bool TryParseSource(string? clientMsgId, out long seq) => RobotReplyIds.TryParseSource(clientMsgId, out seq);

    /// <summary>
    /// Throws when a reply was refused for a passing reason (rate limited, storage unavailable), so that the robot
    /// handles the message again later; a refusal that would only repeat (no access, invalid, too large) is returned
    /// for the handler to judge.
    /// </summary>
    public static SendResult ThrowIfRetryable(this SendResult result)
    {
        ArgumentNullException.ThrowIfNull(result);
        return result.Status is SendStatus.RateLimited or SendStatus.Unavailable
            ? throw new RobotReplyNotStoredException(result)
            : result;
    }
}
