using System.Globalization;

namespace Orleans.Im.Silo.Events;

/// <summary>
/// What <c>replay-events</c> re-publishes: one conversation's seq range, or every message stored in a time range.
/// </summary>
public sealed record ReplayRange(string? ConversationId, long FromSeq, long ToSeq, DateTimeOffset? Since, DateTimeOffset? Until)
{
    public const string Usage = """
        usage: Silo replay-events --conversation <id> [--from-seq N] [--to-seq M]
               Silo replay-events --since <ISO 8601 time> [--until <ISO 8601 time>]
        Re-publishes stored messages from PostgreSQL to the firehose's message stream, with their original event ids
        (m:{conversation}:{seq}), so consumers drop what they already have. Configuration as for the silo
        (IM__Postgres__ConnectionString, IM__Events__Redis or IM__Redis__ConnectionString).
        """;

    /// <summary>Parses the command's arguments (after <c>replay-events</c>); null with an error when they make no range.</summary>
    public static ReplayRange? Parse(IReadOnlyList<string> args, out string? error)
    {
        string? conversation = null;
        long from = 1, to = long.MaxValue;
        DateTimeOffset? since = null, until = null;
        for (var i = 0; i < args.Count; i++)
        {
            var value = i + 1 < args.Count ? args[i + 1] : null;
            var ok = args[i] switch
            {
                "--conversation" => (conversation = value) is not null,
                "--from-seq" => long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out from) && from >= 1,
                "--to-seq" => long.TryParse(value, NumberStyles.None, CultureInfo.InvariantCulture, out to) && to >= 1,
                "--since" => TryTime(value, out since),
                "--until" => TryTime(value, out until),
                _ => false,
            };
            if (!ok)
            {
                error = $"bad or unknown argument '{args[i]}'";
                return null;
            }

            i++;
        }

        error = (conversation, since) switch
        {
            (null, null) => "name a --conversation or a --since time",
            (not null, not null) => "--conversation and --since do not go together",
            _ when from > to => "--from-seq is after --to-seq",
            _ when since > until => "--since is after --until",
            _ => null,
        };
        return error is null ? new ReplayRange(conversation, from, to, since, until) : null;
    }

    private static bool TryTime(string? value, out DateTimeOffset? time)
    {
        var ok = DateTimeOffset.TryParse(value, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal, out var parsed);
        time = ok ? parsed : null;
        return ok;
    }
}
