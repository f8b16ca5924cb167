using System.Diagnostics;
using Npgsql;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>
/// Counts the message log's insert statements as they go on the wire, through Npgsql's tracing hooks, so that the
/// benchmark sees the batches the group committer formed without any change to the product code. Npgsql only traces
/// while an <see cref="ActivityListener"/> listens to its source; the command filter keeps every other statement
/// untraced.
/// </summary>
public sealed class InsertBatchObserver : IDisposable
{
    private const string NpgsqlSourceName = "Npgsql";

    // The start of PostgresMessageLog's append statement; anything else is not a batch of messages.
    private const string AppendStatementStart = "INSERT INTO messages ";

    private readonly ActivityListener _listener;
    private long _batches;

    public InsertBatchObserver()
    {
        _listener = new ActivityListener
        {
            ShouldListenTo = source => source.Name == NpgsqlSourceName,
            Sample = (ref ActivityCreationOptions<ActivityContext> _) => ActivitySamplingResult.AllData,
        };
        ActivitySource.AddActivityListener(_listener);
    }

    /// <summary>Insert statements of the message log seen so far.</summary>
    public long Batches => Interlocked.Read(ref _batches);

    /// <summary>Hooks the observer into the data source about to be built.</summary>
    public void Attach(NpgsqlDataSourceBuilder builder)
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.ConfigureTracing(tracing => tracing
            .EnablePhysicalOpenTracing(false)
            .EnableFirstResponseEvent(false)
            .ConfigureCommandFilter(IsAppend)
            .ConfigureCommandEnrichmentCallback((_, _) => Interlocked.Increment(ref _batches)));
    }

    public void Dispose() => _listener.Dispose();

    private static bool IsAppend(NpgsqlCommand command) =>
        command.CommandText.TrimStart().StartsWith(AppendStatementStart, StringComparison.Ordinal);
}
