using System.Globalization;

namespace Orleans.Im.Messages;

/// <summary>
/// The client message ids of robot replies: <c>robot-{seq}-{index}</c>, where seq is the incoming message's and index
/// counts the replies to it. Conversations deduplicate by (sender, client message id), so a reply is stored once however
/// often its handling is retried; the id says which message a stored reply answered; and a user grain does not count a
/// reply as read up to it, as it does the user's other messages (a reply is stored while its handler may still run: only
/// the robot's own mark says the handler finished).
/// </summary>
public static class RobotReplyIds
{
    private const string Prefix = "robot-";

    /// <summary>The client message id of reply <paramref name="index"/> to the message at <paramref name="seq"/>.</summary>
    public static string Format(long seq, int index) =>
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
}
