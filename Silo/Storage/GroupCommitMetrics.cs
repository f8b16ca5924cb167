using System.Collections.Concurrent;
using System.Diagnostics.Metrics;
using Orleans.Im.Metrics;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// Group-commit figures on the meter <see cref="ImMeters.Storage"/>, labelled by store (<c>messages</c>,
/// <c>conversation_index</c>): batch sizes, commit latency, failures, and the items queued for the next batch.
/// </summary>
public static class GroupCommitMetrics
{
    /// <summary>The store label of the message log.</summary>
    public const string MessagesStore = "messages";

    /// <summary>The store label of the per-user conversation indexes.</summary>
    public const string ConversationIndexStore = "conversation_index";

    private static readonly Meter Meter = new(ImMeters.Storage);

    private static readonly Histogram<long> BatchSize = Meter.CreateHistogram("im_storage_group_commit_batch_size", "{item}",
        "Items committed in one group commit.", advice: new InstrumentAdvice<long> { HistogramBucketBoundaries = [1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000] });

    private static readonly Histogram<double> CommitSeconds = Meter.CreateHistogram("im_storage_group_commit_seconds", "s",
        "How long one group commit took (the statement and its transaction).",
        advice: new InstrumentAdvice<double> { HistogramBucketBoundaries = [0.0005, 0.001, 0.002, 0.005, 0.01, 0.02, 0.05, 0.1, 0.2, 0.5, 1, 2, 5, 10] });

    private static readonly Counter<long> Failures = Meter.CreateCounter<long>("im_storage_group_commit_failures_total", "{batch}",
        "Group commits that failed (every caller of the batch got an error and retries).");

    private static readonly Counter<long> Items = Meter.CreateCounter<long>("im_storage_group_commit_items_total", "{item}",
        "Items committed by group commits.");

    // Live committers' queue lengths, read at each scrape.
    private static readonly ConcurrentDictionary<object, (string Store, Func<int> Queued)> Queues = new();

    static GroupCommitMetrics()
    {
        Meter.CreateObservableGauge("im_storage_group_commit_queue_length", () =>
            Queues.Values.GroupBy(q => q.Store, StringComparer.Ordinal)
                .Select(g => new Measurement<long>(g.Sum(q => (long)q.Queued()), new KeyValuePair<string, object?>("store", g.Key))),
            "{item}", "Items waiting for the next group commit.");
    }

    /// <summary>Reports a committer's queue until <see cref="Forget"/>.</summary>
    public static void Track(object committer, string store, Func<int> queued) => Queues[committer] = (store, queued);

    /// <summary>Stops reporting a committer's queue.</summary>
    public static void Forget(object committer) => Queues.TryRemove(committer, out _);

    /// <summary>A batch committed.</summary>
    public static void Committed(string store, int items, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("store", store);
        BatchSize.Record(items, tag);
        CommitSeconds.Record(elapsed.TotalSeconds, tag);
        Items.Add(items, tag);
    }

    /// <summary>A batch failed.</summary>
    public static void Failed(string store, TimeSpan elapsed)
    {
        var tag = new KeyValuePair<string, object?>("store", store);
        CommitSeconds.Record(elapsed.TotalSeconds, tag);
        Failures.Add(1, tag);
    }
}
