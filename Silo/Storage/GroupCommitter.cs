using System.Diagnostics;
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
    private readonly Func<TItem, int> _rowsOf;
    private readonly GroupCommitOptions _options;
    private readonly long _maxWaitTicks;
    private readonly Task[] _workers;
    private readonly string _store;

    /// <param name="commit">Commits a batch and returns one result per item, in order; throws when nothing committed.</param>
    /// <param name="options">Batch size, concurrency and timeouts.</param>
    /// <param name="store">What it commits, as the metrics' <c>store</c> label (<see cref="GroupCommitMetrics"/>).</param>
    /// <param name="rowsOf">The rows an item holds, counted against <see cref="GroupCommitOptions.MaxBatchRows"/>; one when null.</param>
    public GroupCommitter(Func<IReadOnlyList<TItem>, CancellationToken, Task<IReadOnlyList<TResult>>> commit, GroupCommitOptions options, string store,
        Func<TItem, int>? rowsOf = null)
    {
        ArgumentNullException.ThrowIfNull(options);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchSize, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.MaxBatchRows, 1);
        ArgumentOutOfRangeException.ThrowIfLessThan(options.Concurrency, 1);
        ArgumentOutOfRangeException.ThrowIfLessThanOrEqual(options.MaxWait, TimeSpan.Zero);
        _commit = commit;
        _rowsOf = rowsOf ?? (_ => 1);
        _options = options;
        _maxWaitTicks = (long)(options.MaxWait.TotalSeconds * Stopwatch.Frequency);
        _store = store;
        GroupCommitMetrics.Track(this, store, () => _queue.Reader.Count);
        _workers = Enumerable.Range(0, options.Concurrency).Select(_ => Task.Run(RunAsync)).ToArray();
    }

    /// <summary>
    /// Queues an item; completes with its result once its batch committed, or fails with a <see cref="TimeoutException"/>
    /// after <see cref="GroupCommitOptions.MaxWait"/> (the item may still commit if its batch was under way).
    /// </summary>
    public Task<TResult> EnqueueAsync(TItem item)
    {
        var pending = new Pending(item, new TaskCompletionSource<TResult>(TaskCreationOptions.RunContinuationsAsynchronously),
            Stopwatch.GetTimestamp() + _maxWaitTicks);
        ObjectDisposedException.ThrowIf(!_queue.Writer.TryWrite(pending), this);

        return pending.Completion.Task.WaitAsync(_options.MaxWait);
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
        // An item that would have taken its batch over MaxBatchRows: the first of this worker's next batch.
        Pending? carried = null;
        while (carried is not null || await reader.WaitToReadAsync())
        {
            batch.Clear();
            items.Clear();
            var rows = 0;
            while (batch.Count < _options.MaxBatchSize)
            {
                Pending? pending;
                if (carried is not null)
                {
                    (pending, carried) = (carried, null);
                }
                else if (!reader.TryRead(out pending))
                {
                    break;
                }

                if (Stopwatch.GetTimestamp() > pending.Deadline)
                {
                    // Its caller was told storage is unavailable, and retries: committing it now would only add to the
                    // backlog of a database that is catching up.
                    pending.Completion.TrySetException(new TimeoutException($"queued for {_store} longer than {_options.MaxWait}"));
                    continue;
                }

                var itemRows = _rowsOf(pending.Item);
                if (batch.Count > 0 && rows + itemRows > _options.MaxBatchRows)
                {
                    carried = pending;
                    break;
                }

                batch.Add(pending);
                items.Add(pending.Item);
                rows += itemRows;
            }

            if (batch.Count == 0)
            {
                continue;
            }

            var started = Stopwatch.GetTimestamp();
            try
            {
                using var timeout = new CancellationTokenSource(_options.CommitTimeout);
                var results = await _commit(items, timeout.Token);
                GroupCommitMetrics.Committed(_store, batch.Count, Stopwatch.GetElapsedTime(started));
                for (var i = 0; i < batch.Count; i++)
                {
                    batch[i].Completion.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                GroupCommitMetrics.Failed(_store, Stopwatch.GetElapsedTime(started));
                // Every caller of the batch learns that nothing of it is known to be committed.
                foreach (var pending in batch)
                {
                    pending.Completion.TrySetException(ex);
                }
            }
        }
    }

    private sealed record Pending(TItem Item, TaskCompletionSource<TResult> Completion, long Deadline);
}
