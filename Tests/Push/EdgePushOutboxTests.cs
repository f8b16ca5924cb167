using Microsoft.Extensions.Logging.Abstractions;
using Orleans.Im.Push;

namespace Orleans.Im.Tests.Push;

/// <summary>
/// The silo's per-edge push outbox against recording observers: what is queued while a flush is busy goes in one call,
/// in queue order, split at <see cref="EdgePushOutbox.MaxBatchesPerCall"/>; an edge that did not say it takes
/// <c>PushManyAsync</c> gets one <c>PushAsync</c> per batch; edges do not wait on each other.
/// </summary>
[Trait("Category", "Unit")]
public sealed class EdgePushOutboxTests
{
    private readonly EdgePushOutbox _outbox = new(NullLogger<EdgePushOutbox>.Instance);

    [Fact]
    public async Task Batches_queued_while_a_flush_is_busy_go_in_one_call_in_queue_order()
    {
        using var edge = new RecordingPushObserver(holdFirstCall: true);
        _outbox.TakesPushMany(edge);
        var batches = Enumerable.Range(0, 101).Select(i => Batch($"user{i % 7}", i)).ToArray();

        _outbox.Enqueue(edge, batches[0]);
        await edge.FirstCallStarted;
        foreach (var batch in batches[1..])
        {
            _outbox.Enqueue(edge, batch);
        }

        edge.ReleaseFirstCall();
        await edge.WaitForBatchesAsync(batches.Length);

        // The lone first batch needs no array (and every edge version takes PushAsync); the rest waited and go together.
        Assert.Equal([(false, 1), (true, 100)], edge.Calls.Select(c => (c.Many, c.Batches.Count)));
        Assert.Equal(batches, edge.Batches);
    }

    [Fact]
    public async Task More_than_the_most_per_call_is_split_in_order()
    {
        using var edge = new RecordingPushObserver(holdFirstCall: true);
        _outbox.TakesPushMany(edge);
        const int Max = EdgePushOutbox.MaxBatchesPerCall;
        var batches = Enumerable.Range(0, 1 + (2 * Max) + 5).Select(i => Batch("user", i)).ToArray();

        _outbox.Enqueue(edge, batches[0]);
        await edge.FirstCallStarted;
        foreach (var batch in batches[1..])
        {
            _outbox.Enqueue(edge, batch);
        }

        edge.ReleaseFirstCall();
        await edge.WaitForBatchesAsync(batches.Length);

        Assert.Equal([(false, 1), (true, Max), (true, Max), (true, 5)], edge.Calls.Select(c => (c.Many, c.Batches.Count)));
        Assert.Equal(batches, edge.Batches);
    }

    [Fact]
    public async Task An_edge_that_did_not_say_it_takes_push_many_gets_one_push_per_batch_in_order()
    {
        using var edge = new RecordingPushObserver(holdFirstCall: true);
        var batches = Enumerable.Range(0, 20).Select(i => Batch("user", i)).ToArray();

        _outbox.Enqueue(edge, batches[0]);
        await edge.FirstCallStarted;
        foreach (var batch in batches[1..])
        {
            _outbox.Enqueue(edge, batch);
        }

        edge.ReleaseFirstCall();
        await edge.WaitForBatchesAsync(batches.Length);

        Assert.All(edge.Calls, c => Assert.False(c.Many));
        Assert.Equal(batches, edge.Batches);
    }

    [Fact]
    public async Task A_busy_edge_does_not_hold_back_another()
    {
        using var stuck = new RecordingPushObserver(holdFirstCall: true);
        using var other = new RecordingPushObserver();
        _outbox.TakesPushMany(stuck);
        _outbox.TakesPushMany(other);

        _outbox.Enqueue(stuck, Batch("a", 0));
        await stuck.FirstCallStarted;
        _outbox.Enqueue(stuck, Batch("a", 1));
        _outbox.Enqueue(other, Batch("b", 0));
        await other.WaitForBatchesAsync(1);

        Assert.Empty(stuck.Calls);
        stuck.ReleaseFirstCall();
        await stuck.WaitForBatchesAsync(2);
        Assert.Equal(2, _outbox.EdgeCount);
    }

    [Fact]
    public async Task Enqueues_from_many_threads_all_arrive_each_users_in_order()
    {
        using var edge = new RecordingPushObserver();
        _outbox.TakesPushMany(edge);
        const int Users = 8;
        const int PerUser = 2_000;

        // Each user's batches are enqueued by one thread, as a user grain's turns are one at a time.
        await Task.WhenAll(Enumerable.Range(0, Users).Select(u => Task.Run(() =>
        {
            for (var i = 0; i < PerUser; i++)
            {
                _outbox.Enqueue(edge, Batch($"user{u}", i));
            }
        })));
        await edge.WaitForBatchesAsync(Users * PerUser);

        var received = edge.Batches;
        Assert.Equal(Users * PerUser, received.Count);
        foreach (var user in received.GroupBy(b => b.UserId))
        {
            Assert.Equal(Enumerable.Range(0, PerUser).Select(i => (long)i), user.Select(b => b.Events[0].Seq));
        }

        Assert.All(edge.Calls, c => Assert.InRange(c.Batches.Count, 1, EdgePushOutbox.MaxBatchesPerCall));
    }

    private static UserEventBatch Batch(string userId, long seq) =>
        new(userId, [new ReadReceiptEvent("conversation", seq, userId)]);
}
