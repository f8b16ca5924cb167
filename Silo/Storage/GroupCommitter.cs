using System.Threading.Channels;

namespace Orleans.Im.Silo.Storage;

/// <summary>
/// Collects items from many callers and commits them in batches: each caller awaits the commit of the batch its item
/// went into. A fixed number of workers each take everything queued (up to the batch size) and commit it; while they
/// commit, new items queue, so batch size follows load with no timer.
/// </summary>
/// <typeparam name="TItem">What callers submit.</typeparam>
/// <typeparam name="TResult">What each caller gets back.</typeparam>
public sealed class GroupCommitter<TItem, TResult> : IAsyncDisposable
{
    private readonly Channel<Pending> _queue = Channel.CreateUnbounded<Pending>(new UnboundedChannelOptions { SingleWriter = false });
    private readonly Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> _commit;
    private readonly GroupCommitOptions _options;
    private readonly Task[] _workers;
    private readonly string _store;

    /// <param name="commit">Commits a batch and returns one result per item, in order; throws when nothing committed.</param>
    /// <param name="options">Batch size, concurrency and timeout.</param>
    /// <param name="store">What it commits, as the metrics' <c>store</c> label (<see cref="GroupCommitMetrics"/>).</param>
    public GroupCommitter(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commit, GroupCommitOptions options, string store)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        _commit = commit;
        _options = options;
        _store = store;
        GroupCommitMetrics.Track(this, store, () => _queue.Reader.Count);
        _workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(RunAsync)).ToArray();
    }

    /// <summary>Queues an item; completes with its result once its batch committed.</summary>
    public Task<TResult> EnqueueAsync(TItem item)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously));
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        return pending.Completion.Task;
    }

    public async ValueTask DisposeAsync()
    {
        _queue.Writer.TryComplete();
        await Task.WhenAll(_workers);
        GroupCommitMetrics.Forget(this);
    }

    private async Task RunAsync()
    {
        var batch = new List<Pending>(_options.MaxBatchSize);
        var items = new List<TItem>(_options.MaxBatchSize);
        var reader = _queue.Reader;
        while (await reader.WaitToReadAsync())
        {
            batch.Clear();
            items.Clear();
            while (batch.Count < _options.MaxBatchSize && reader.TryRead(out var pending))
            {
                batch.Add(pending);
                items.Add(pending.Item);
            }

            if (batch.Count == 0)
            {
                continue;
            }

            var started = System.Diagnostics.Stopwatch.GetTimestamp();
            try
            {
                using var timeout = new CancellationTokenSource(_options.CommitTimeout);
                var results = await _commit(items, timeout.Token);
                GroupCommitMetrics.Committed(_store, batch.Count, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                GroupCommitMetrics.Failed(_store, System.Diagnostics.Stopwatch.GetElapsedTime(started));
                // Every caller of the batch learns that nothing of it is known to be committed.
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(TItem Item, TaskCompletionSource<TResult> Completion);
}
