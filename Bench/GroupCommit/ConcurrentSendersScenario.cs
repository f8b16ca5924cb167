using System.Diagnostics;
using Orleans.Im.Bench.Statistics;
using Orleans.Im.Messages;
using Orleans.Im.Silo.Storage;

namespace Orleans.Im.Bench.GroupCommit;

/// <summary>
/// Concurrent senders, each in its own conversation, append through <see cref="PostgresMessageLog.AppendAsync"/> as
/// conversation grains do: each awaits its acknowledgement before sending its next message, and the log's group
/// committer batches whatever is queued at once.
/// </summary>
public sealed class ConcurrentSendersScenario : IGroupCommitScenario
{
    private readonly PostgresMessageLog _log;
    private readonly BenchMessageFactory _factory;
    private readonly InsertBatchObserver _observer;
    private readonly int _senders;

    public ConcurrentSendersScenario(PostgresMessageLog log, BenchMessageFactory factory, InsertBatchObserver observer, int senders)
    {
        ArgumentOutOfRangeException.ThrowIfLessThan(senders, 1);
        _log = log;
        _factory = factory;
        _observer = observer;
        _senders = senders;
    }

    public ScenarioKind Kind => ScenarioKind.GroupCommit;

    public int Parameter => _senders;

    public async Task<RunSample> RunAsync(int messages, TimeSpan timeLimit, CancellationToken cancellationToken)
    {
        // Built before the clock starts: the run measures the storage path, not building messages.
        var perSender = Math.Max(1, messages / _senders);
        var plans = new ChatMessage[_senders][];
        var latencies = new double[_senders][];
        for (var i = 0; i < _senders; i++)
        {
            plans[i] = BenchMessageFactory.Sequence(_factory.NewConversation(), $"bench-sender-{i}", perSender);
            latencies[i] = new double[perSender];
        }

        var batchesBefore = _observer.Batches;
        var start = Stopwatch.GetTimestamp();
        var senders = new Task<int>[_senders];
        for (var i = 0; i < _senders; i++)
        {
            senders[i] = SendAsync(plans[i], latencies[i], start, timeLimit, cancellationToken);
        }

        var sent = await Task.WhenAll(senders);
        var elapsed = Stopwatch.GetElapsedTime(start);

        var acks = new List<double>(_senders * perSender);
        for (var i = 0; i < _senders; i++)
        {
            acks.AddRange(latencies[i].AsSpan(0, sent[i]));
        }

        acks.Sort();
        return new RunSample(
            acks.Count,
            elapsed,
            Percentiles.OfSorted(acks, 50),
            Percentiles.OfSorted(acks, 99),
            _observer.Batches - batchesBefore,
            TimeLimited: acks.Count < _senders * perSender);
    }

    /// <summary>One sender: its messages one at a time, each after the previous one's ack. Returns how many it sent.</summary>
    private async Task<int> SendAsync(ChatMessage[] plan, double[] latencies, long start, TimeSpan timeLimit, CancellationToken cancellationToken)
    {
        var sent = 0;
        while (sent < plan.Length && Stopwatch.GetElapsedTime(start) < timeLimit)
        {
            cancellationToken.ThrowIfCancellationRequested();
            var sendStart = Stopwatch.GetTimestamp();
            var outcome = await _log.AppendAsync(plan[sent]);
            latencies[sent] = Stopwatch.GetElapsedTime(sendStart).TotalMilliseconds;
            BenchMessageFactory.EnsureAppended(outcome);
            sent++;
        }

        return sent;
    }
}
