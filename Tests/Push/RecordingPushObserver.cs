using Orleans.Im.Push;

namespace Orleans.Im.Tests.Push;

/// <summary>
/// An edge's push observer that records each call (which method, which batches, in arrival order). It can hold its first
/// call until released, so that a test can queue more behind it while the outbox's flush is busy.
/// </summary>
public sealed class RecordingPushObserver : IEdgePushObserver, IDisposable
{
    private readonly Lock _lock = new();
    private readonly List<PushCall> _calls = [];
    private readonly ManualResetEventSlim? _firstCallGate;
    private readonly TaskCompletionSource _firstCallStarted = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _started;

    /// <param name="holdFirstCall">The first call blocks until <see cref="ReleaseFirstCall"/>.</param>
    public RecordingPushObserver(bool holdFirstCall = false)
    {
        _firstCallGate = holdFirstCall ? new ManualResetEventSlim(false) : null;
    }

    /// <summary>Completes when the first call has begun (and, if held, is waiting).</summary>
    public Task FirstCallStarted => _firstCallStarted.Task;

    public IReadOnlyList<PushCall> Calls
    {
        get
        {
            lock (_lock)
            {
                return [.. _calls];
            }
        }
    }

    /// <summary>Every batch received, in arrival order.</summary>
    public IReadOnlyList<UserEventBatch> Batches => [.. Calls.SelectMany(c => c.Batches)];

    public void ReleaseFirstCall() => _firstCallGate?.Set();

    public Task PushAsync(UserEventBatch batch)
    {
        Record(new PushCall(false, [batch]));
        return Task.CompletedTask;
    }

    public Task PushManyAsync(UserEventBatch[] batches)
    {
        Record(new PushCall(true, batches));
        return Task.CompletedTask;
    }

    public Task PushInOrderAsync(long sender, long number, UserEventBatch[] batches)
    {
        Record(new PushCall(true, batches, sender, number));
        return Task.CompletedTask;
    }

    /// <summary>Waits until at least <paramref name="count"/> batches have arrived; fails the test after 10 s.</summary>
    public async Task WaitForBatchesAsync(int count)
    {
        var arrived = await Infrastructure.Eventually.ReturnsAsync(() => Task.FromResult(Batches.Count), n => n >= count);
        Assert.True(arrived >= count, $"{arrived} of {count} batches arrived");
    }

    public void Dispose() => _firstCallGate?.Dispose();

    private void Record(PushCall call)
    {
        if (Interlocked.Exchange(ref _started, 1) == 0)
        {
            _firstCallStarted.TrySetResult();
            _firstCallGate?.Wait(TimeSpan.FromSeconds(30));
        }

        lock (_lock)
        {
            _calls.Add(call);
        }
    }
}
