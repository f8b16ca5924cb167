using System.Globalization;
using Orleans.Im.Messages;

namespace Orleans.Im.Robots;

/// <summary>
/// The client message ids of robot replies: <c>robot-{seq}-{index}</c>, where seq is the incoming message's and index
/// counts the replies to it. Conversations deduplicate by (sender, client message id), so a reply is stored once
/// however often its handling is retried; and the id says which message a stored reply answered, which a restarted
/// robot uses to find where it left off.
/// </summary>
public static class RobotReplies
{
    private const string Prefix = "robot-";

    /// <summary>The client message id of reply <paramref name="index"/> to the message at <paramref name="seq"/>.</summary>
    public static string ClientMsgId(long seq, int index) =>
        string.Create(CultureInfo.InvariantCulture, $"{Prefix}{seq}-{index}");

    /// <summary>The seq of the message a robot reply answered, when <paramref name="clientMsgId"/> is a robot reply's id.</summary>
    public static bool TryParseSource(string? clientMsgId, out long seq)
    {
        seq = 0;
        if (clientMsgId is null || !clientMsgId.StartsWith(Prefix, StringComparison.Ordinal))
        {
            return false;
        }

        var rest = clientMsgId.AsSpan(Prefix.Length);
        var dash = rest.IndexOf('-');
        return dash > 0
            && long.TryParse(rest[..dash], NumberStyles.None, CultureInfo.InvariantCulture, out seq)
            && int.TryParse(rest[(dash + 1)..], NumberStyles.None, CultureInfo.InvariantCulture, out _)
            && seq > 0;
    }

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
