using System.Diagnostics;
using System.Globalization;
using System.Runtime;
using System.Runtime.InteropServices;
using Npgsql;
using Orleans.Im.Bench.Load;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Storage;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>
/// <c>groupcommit</c>: the message log's append path into a real PostgreSQL. Direct batches of 1, 10 and 100 through
/// <see cref="PostgresMessageLog.AppendBatchAsync"/>, then 1, 10 and 100 concurrent senders through
/// <see cref="PostgresMessageLog.AppendAsync"/> and its group committer with the silo's default options. Prints
/// markdown to stdout and progress to stderr.
/// </summary>
public static class GroupCommitCommand
{
    public const string OptionsHelp = """
        groupcommit options:
          --connection <string>  Npgsql connection string, loopback addresses only
                                 (default: Host=127.0.0.1;Port=55434;Database=orleans_im_bench;Username=postgres)
          --messages <N>         messages per run of each configuration (default 20000)
          --runs <R>             measured runs of each configuration, after one warm-up run (default 5)
          --run-seconds <S>      a run ends after N messages or S seconds, whichever comes first (default 5)
        """;

    // Slack over the worst case for connecting, migrating and cleaning up; past it the benchmark is stuck, not slow.
    private static readonly TimeSpan DeadlineSlack = TimeSpan.FromSeconds(60);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        GroupCommitSettings settings;
        try
        {
            settings = GroupCommitSettings.From(CommandLineOptions.Parse(args, GroupCommitSettings.OptionNames));
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"groupcommit: {ex.Message}");
            await Console.Error.WriteLineAsync(OptionsHelp);
            return 2;
        }

        // Ctrl+C stops the runs but still lets the benchmark delete its rows.
        using var stop = new CancellationTokenSource(settings.WorstCaseDuration + DeadlineSlack);
        void OnCancelKey(object? sender, ConsoleCancelEventArgs e)
        {
            e.Cancel = true;
            stop.Cancel();
        }

        Console.CancelKeyPress += OnCancelKey;
        try
        {
            await RunAsync(settings, stop.Token);
            return 0;
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException or InvalidOperationException or StorageUnavailableException)
        {
            await Console.Error.WriteLineAsync($"groupcommit: failed: {ex.Message}");
            return 1;
        }
        finally
        {
            Console.CancelKeyPress -= OnCancelKey;
        }
    }

    private static async Task RunAsync(GroupCommitSettings settings, CancellationToken cancellationToken)
    {
        using var observer = new InsertBatchObserver();
        var builder = new NpgsqlDataSourceBuilder(settings.ConnectionString);
        observer.Attach(builder);
        await using var dataSource = builder.Build();

        await SchemaMigrator.ApplyAsync(dataSource, cancellationToken);
        var server = await DescribeServerAsync(dataSource, cancellationToken);
        var committerOptions = new GroupCommitOptions();
        var factory = new BenchMessageFactory();
        var loadBefore = SystemReadings.LoadAverage();
        var total = Stopwatch.StartNew();
        try
        {
            // One log for all scenarios, as in a silo: the direct batches bypass its committer, the senders use it.
            await using var log = new PostgresMessageLog(dataSource, committerOptions);
            IGroupCommitScenario[] scenarios =
            [
                .. GroupCommitSettings.BatchSizes.Select(size => new DirectBatchScenario(log, factory, observer, size)),
                .. GroupCommitSettings.SenderCounts.Select(senders => new ConcurrentSendersScenario(log, factory, observer, senders)),
            ];

            await Console.Error.WriteLineAsync(Invariant(
                $"groupcommit: {scenarios.Length} configurations, 1 warm-up + {settings.Runs} runs each, at most {settings.WorstCaseDuration.TotalSeconds:0} s"));
            var results = await GroupCommitBenchmark.RunAsync(scenarios, settings, Console.Error, cancellationToken);

            Console.WriteLine("## Message log group commit (PostgreSQL)");
            Console.WriteLine();
            WriteEnvironment(server, committerOptions, settings);
            Console.WriteLine($"- load average (1, 5, 15 min) before: {loadBefore}; after: {SystemReadings.LoadAverage()}");
            Console.WriteLine();
            GroupCommitReport.Write(Console.Out, results, settings);
        }
        finally
        {
            // Only the rows of the conversations this run made: the database may be someone's development database.
            await DeleteRowsAsync(dataSource, factory.Conversations);
            await Console.Error.WriteLineAsync(Invariant($"groupcommit: done in {total.Elapsed.TotalSeconds:0} s"));
        }
    }

    private static void WriteEnvironment(IReadOnlyList<(string Name, string Value)> server, GroupCommitOptions committer, GroupCommitSettings settings)
    {
        var gc = GCSettings.IsServerGC ? "server GC" : "workstation GC";
        var memoryGiB = GC.GetGCMemoryInfo().TotalAvailableMemoryBytes / (1024.0 * 1024 * 1024);
        Console.WriteLine(Invariant(
            $"- client: {Environment.ProcessorCount} cores, {memoryGiB:0} GiB, {RuntimeInformation.OSDescription}, {RuntimeInformation.FrameworkDescription}, {gc}"));
        Console.WriteLine("- server: " + string.Join(", ", server.Select(s => s.Name == "version" ? s.Value : $"{s.Name}={s.Value}")));
        Console.WriteLine(Invariant(
            $"- group committer: the silo's defaults, MaxBatchSize {committer.MaxBatchSize}, Concurrency {committer.Concurrency}"));
        Console.WriteLine(Invariant(
            $"- {settings.Runs} runs per configuration after one warm-up, rounds interleaved; each run ends after {settings.Messages} messages or {settings.RunTimeLimit.TotalSeconds:0} s, whichever comes first"));
    }

    // The settings that decide what a commit costs, printed with the results so that they are read together.
    private static async Task<IReadOnlyList<(string Name, string Value)>> DescribeServerAsync(NpgsqlDataSource dataSource, CancellationToken cancellationToken)
    {
        string[] settings = ["fsync", "synchronous_commit", "wal_sync_method", "commit_delay", "full_page_writes", "shared_buffers"];
        var described = new List<(string, string)>();
        await using var connection = await dataSource.OpenConnectionAsync(cancellationToken);
        await using (var version = new NpgsqlCommand("SELECT split_part(version(), ' on ', 1)", connection))
        {
            described.Add(("version", (string?)await version.ExecuteScalarAsync(cancellationToken) ?? "?"));
        }

        foreach (var name in settings)
        {
            await using var show = new NpgsqlCommand("SELECT current_setting(@name)", connection);
            show.Parameters.AddWithValue("name", name);
            described.Add((name, (string?)await show.ExecuteScalarAsync(cancellationToken) ?? "?"));
        }

        return described;
    }

    private static async Task DeleteRowsAsync(NpgsqlDataSource dataSource, IReadOnlyList<string> conversations)
    {
        if (conversations.Count == 0)
        {
            return;
        }

        try
        {
            using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
            await using var delete = dataSource.CreateCommand("DELETE FROM messages WHERE conversation_id = ANY(@ids)");
            delete.Parameters.AddWithValue("ids", conversations.ToArray());
            var deleted = await delete.ExecuteNonQueryAsync(timeout.Token);
            await Console.Error.WriteLineAsync(Invariant($"groupcommit: deleted the {deleted} rows of its {conversations.Count} conversations"));
        }
        catch (Exception ex) when (ex is NpgsqlException or OperationCanceledException)
        {
            await Console.Error.WriteLineAsync($"groupcommit: could not delete its rows (conversations 'grp:bench-…'): {ex.Message}");
        }
    }

    private static string Invariant(FormattableString text) => text.ToString(CultureInfo.InvariantCulture);
}
