using Orleans.Im.Silo.Storage;

namespace Orleans.Im.Tests.Foundation;

/// <summary>The group committer on its own: how long an item may wait, and how many rows a batch may hold.</summary>
[Trait("Category", "Unit")]
public sealed class GroupCommitterTests
{
    private static readonly TimeSpan MaxWait = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task An_item_queued_behind_a_stalled_commit_fails_after_the_max_wait_and_is_not_committed_later()
    {
        var stalled = new StalledCommits();
        await using var committer = new GroupCommitter<int, int>(stalled.CommitAsync,
            new GroupCommitOptions { Concurrency = 1, CommitTimeout = TimeSpan.FromMinutes(5), MaxWait = MaxWait }, "test");
        var first = committer.EnqueueAsync(1);
        await stalled.Started.Task;

        var second = committer.EnqueueAsync(2);

        // The database stalls for longer than the commit timeout allows many times over: the caller hears at MaxWait.
        Assert.Same(second, await Task.WhenAny(second, Task.Delay(TimeSpan.FromSeconds(10))));
        await Assert.ThrowsAsync<TimeoutException>(() => second);
        // Timers may fire a little before the deadline the worker reads from the clock: be surely past it.
        await Task.Delay(MaxWait);
        stalled.Release.SetResult();

        // The first, under way when its wait ran out, may be answered either way; the second was never committed.
        await Task.WhenAny(first);
        Assert.Equal(3, await committer.EnqueueAsync(3));
        Assert.Equal([[1], [3]], stalled.Batches);
    }

    [Fact]
    public async Task A_batch_holds_at_most_max_batch_rows_unless_one_item_is_larger()
    {
        var stalled = new StalledCommits();
        // An item's rows are its tens: 41 holds 4 rows.
        await using var committer = new GroupCommitter<int, int>(stalled.CommitAsync,
            new GroupCommitOptions { Concurrency = 1, MaxBatchRows = 10 }, "test", item => item / 10);
        var first = committer.EnqueueAsync(10);
        await stalled.Started.Task;

        int[] items = [41, 42, 43, 200, 11];
        var queued = items.Select(committer.EnqueueAsync).ToList();
        stalled.Release.SetResult();
        await Task.WhenAll(queued.Append(first));

        Assert.Equal([[10], [41, 42], [43], [200], [11]], stalled.Batches);
    }

    /// <summary>Commits that record their batches; the first waits for <see cref="Release"/>.</summary>
    private sealed class StalledCommits
    {
        public TaskCompletionSource Started { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public TaskCompletionSource Release { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);

        public List<int[]> Batches { get; } = [];

        public async Task<IReadOnlyList<int>> CommitAsync(IReadOnlyList<int> items, CancellationToken cancellationToken)
        {
            lock (Batches)
            {
                Batches.Add([.. items]);
            }

            Started.TrySetResult();
            await Release.Task.WaitAsync(cancellationToken);
            return items;
        }
    }
}
