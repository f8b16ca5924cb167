using System.Collections.Concurrent;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// Holds the next call of a chosen method on a chosen grain before the grain sees it, until the test releases it, or drops
/// it: how a cluster test makes two calls that would race arrive in the order it wants (a notice that crossed another, a
/// refusal that comes after the answer), or loses a notice. A silo's incoming call filter; it lets every other call through untouched.
/// </summary>
public sealed class CallHolds : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<(GrainId Grain, string Method), (TaskCompletionSource Entered, TaskCompletionSource Release)> _held = new();
    private readonly ConcurrentDictionary<(GrainId Grain, string Method), TaskCompletionSource> _dropped = new();

    /// <summary>
    /// Holds the next call of <paramref name="method"/> (the interface method's name) on <paramref name="grain"/> until
    /// <c>Release</c> is completed; <c>Entered</c> completes when it is held.
    /// </summary>
    public (TaskCompletionSource Entered, TaskCompletionSource Release) HoldNext(GrainId grain, string method)
    {
        var hold = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _held[(grain, method)] = hold;
        return hold;
    }

    /// <summary>
    /// Drops the next call of <paramref name="method"/> on <paramref name="grain"/> unseen, as a one-way notice lost with a
    /// silo is; completes when it has been dropped.
    /// </summary>
    public Task DropNext(GrainId grain, string method)
    {
        var dropped = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        _dropped[(grain, method)] = dropped;
        return dropped.Task;
    }

    public async Task Invoke(IIncomingGrainCallContext context)
    {
        var call = (context.TargetId, context.InterfaceMethod.Name);
        if (!_dropped.IsEmpty && _dropped.TryRemove(call, out var dropped))
        {
            dropped.TrySetResult();
            return;
        }

        if (!_held.IsEmpty && _held.TryRemove(call, out var hold))
        {
            hold.Entered.TrySetResult();
            await hold.Release.Task;
        }

        await context.Invoke();
    }
}
