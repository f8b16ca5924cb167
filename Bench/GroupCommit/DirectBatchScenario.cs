using System.Diagnostics;
using Orleans.Im.Bench.Statistics;
using Orleans.Im.Silo.Storage;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>
/// One writer commits batches of a fixed size with <see cref="PostgresMessageLog.AppendBatchAsync"/>, each batch
/// awaited before the next: the cost of one commit and how it is shared by the messages of a batch.
/// </summary>
public sealed class DirectBatchScenario : IGroupCommitScenario
{
    private readonly PostgresMessageLog _log;
    private readonly BenchMessageFactory _factory;
    private readonly InsertBatchObserver _observer;
    private readonly int _batchSize;

    public DirectBatchScenario(PostgresMessageLog log, BenchMessageFactory factory, InsertBatchObserver observer, int batchSize)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(batchSize, 1);
        _log = log;
        _factory = factory;
        _observer = observer;
        _batchSize = batchSize;
    }

    public ScenarioKind Kind => ScenarioKind.DirectBatch;

    public int Parameter => _batchSize;

    public async Task<RunSample> RunAsync(int messages, TimeSpan timeLimit, CancellationToken cancellationToken)
    {
        // Built before the clock starts: the run measures the storage path, not building messages.
        var batchCount = Math.Max(1, messages / _batchSize);
        var all = BenchMessageFactory.Sequence(_factory.NewConversation(), "bench-writer", batchCount * _batchSize);
        var batches = all.Chunk(_batchSize).ToArray();
        var latencies = new List<double>(batchCount);

        var batchesBefore = _observer.Batches;
        var start = Stopwatch.GetTimestamp();
        var sent = 0;
        foreach (var batch in batches)
        {
            if (Stopwatch.GetElapsedTime(start) >= timeLimit)
            {
                break;
            }

            var batchStart = Stopwatch.GetTimestamp();
            var outcomes = await _log.AppendBatchAsync(batch, cancellationToken);
            latencies.Add(Stopwatch.GetElapsedTime(batchStart).TotalMilliseconds);
            BenchMessageFactory.EnsureAppended(outcomes);
            sent++;
        }

        var elapsed = Stopwatch.GetElapsedTime(start);
        latencies.Sort();
        return new RunSample(
            sent * _batchSize,
            elapsed,
            Percentiles.OfSorted(latencies, 50),
            Percentiles.OfSorted(latencies, 99),
            _observer.Batches - batchesBefore,
            TimeLimited: sent < batches.Length);
    }

    /// <summary>Checks a run's statement count against its batches: the observer must see exactly one per batch.</summary>
    public static bool ObserverAgrees(RunSample sample, int batchSize) =>
        sample.Batches * batchSize == sample.Messages;
}
