using System.Net;
using Npgsql;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>The <c>groupcommit</c> command's options, checked.</summary>
/// <param name="ConnectionString">Where PostgreSQL listens; loopback only.</param>
/// <param name="Messages">Messages per run of each configuration.</param>
/// <param name="Runs">Measured runs per configuration, after one warm-up run.</param>
/// <param name="RunTimeLimit">The longest one measured run may send for.</param>
public sealed record GroupCommitSettings(string ConnectionString, int Messages, int Runs, TimeSpan RunTimeLimit)
{
    /// <summary>The database <c>deploy/local/postgres.sh</c> starts with the benchmark's port and database name.</summary>
    public const string DefaultConnectionString = "Host=127.0.0.1;Port=55434;Database=orleans_im_bench;Username=postgres";

    // Fast configurations send all their messages (about 200 inserts of 100 at least); slow ones, such as one commit
    // per message, stop at the time limit with a few thousand. With 6 configurations, 1 warm-up of at most 2 s and 5
    // runs each, an invocation takes at most 162 s.
    public const int DefaultMessages = 20_000;
    public const int DefaultRunSeconds = 5;

    public static readonly IReadOnlyCollection<string> OptionNames = ["connection", "messages", "runs", "run-seconds"];

    /// <summary>Batch sizes of the direct scenario.</summary>
    public static readonly IReadOnlyList<int> BatchSizes = [1, 10, 100];

    /// <summary>Sender counts of the group-commit scenario.</summary>
    public static readonly IReadOnlyList<int> SenderCounts = [1, 10, 100];

    /// <summary>Warm-up runs send a fifth of a measured run's messages, for at most this long.</summary>
    public static TimeSpan WarmupTimeLimit => TimeSpan.FromSeconds(2);

    /// <summary>The longest the whole benchmark may take if every run hits its time limit.</summary>
    public TimeSpan WorstCaseDuration =>
        (BatchSizes.Count + SenderCounts.Count) * (WarmupTimeLimit + (Runs * RunTimeLimit));

    /// <summary>Reads and checks the options; throws <see cref="ArgumentException"/> when one is unusable.</summary>
    public static GroupCommitSettings From(CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        var connectionString = options.GetString("connection", DefaultConnectionString);
        EnsureLoopback(connectionString);
        return new GroupCommitSettings(
            connectionString,
            options.GetInt("messages", DefaultMessages, min: 100, max: 1_000_000),
            options.GetInt("runs", 5, min: 1, max: 50),
            TimeSpan.FromSeconds(options.GetInt("run-seconds", DefaultRunSeconds, min: 1, max: 60)));
    }

    // The benchmark writes and deletes rows: it must never reach a database on another machine by mistake.
    private static void EnsureLoopback(string connectionString)
    {
        NpgsqlConnectionStringBuilder builder;
        try
        {
            builder = new NpgsqlConnectionStringBuilder(connectionString);
        }
        catch (ArgumentException ex)
        {
            throw new ArgumentException($"option '--connection' is not a connection string: {ex.Message}", ex);
        }

        var hosts = (builder.Host ?? string.Empty).Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries);
        if (hosts.Length == 0 || !hosts.All(h => IPAddress.TryParse(h, out var address) && IPAddress.IsLoopback(address)))
        {
            throw new ArgumentException($"option '--connection' must name loopback addresses only (such as 127.0.0.1), not '{builder.Host}'");
        }
    }
}
