using System.Collections.Concurrent;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// Makes the grain storage refuse the state reads and writes of chosen grains, as it does when PostgreSQL cannot be reached (a
/// transient failure: the activation stays, unlike a stale write's <c>InconsistentStateException</c>, after which Orleans
/// drops it): how a cluster test sees what a grain does with a write that fails. Used by <see cref="FaultyGrainStorage"/>.
/// </summary>
public sealed class StorageFaults
{
    private readonly ConcurrentDictionary<GrainId, int> _failing = new();
    private readonly ConcurrentDictionary<GrainId, int> _passingFirst = new();
    private readonly ConcurrentDictionary<GrainId, (TaskCompletionSource Entered, TaskCompletionSource Release)> _held = new();

    /// <summary>
    /// Holds the next answer of the storage call named <paramref name="call"/> (read already, not yet returned) until
    /// <c>Release</c> is completed; <c>Entered</c> completes when it is held. How a test makes a read end after a write.
    /// </summary>
    public (TaskCompletionSource Entered, TaskCompletionSource Release) HoldNext(GrainId call)
    {
        var hold = (new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously), new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        _held[call] = hold;
        return hold;
    }

    /// <summary>Waits while the call is held (see <see cref="HoldNext"/>); at once otherwise.</summary>
    public async Task WhileHeldAsync(GrainId call)
    {
        if (!_held.IsEmpty && _held.TryRemove(call, out var hold))
        {
            hold.Entered.TrySetResult();
            await hold.Release.Task;
        }
    }

    private readonly ConcurrentDictionary<GrainId, bool> _answerLost = new();

    /// <summary>
    /// The grain's next state write is stored, but its answer lost (a command timeout after the commit): the grain hears
    /// a failure and keeps the version it had, which storage no longer has.
    /// </summary>
    public void LoseNextAnswer(GrainId grain) => _answerLost[grain] = true;

    /// <summary>Whether the answer of this write is to be lost (see <see cref="LoseNextAnswer"/>); asked once per write.</summary>
    public bool TakeLostAnswer(GrainId grain) => !_answerLost.IsEmpty && _answerLost.TryRemove(grain, out _);

    private readonly ConcurrentDictionary<GrainId, int> _failingNext = new();

    /// <summary>Refuses the grain's next <paramref name="count"/> reads and writes, then takes them again.</summary>
    public void FailNext(GrainId grain, int count) => _failingNext[grain] = count;

    /// <summary>Refuses the grain's state reads and writes from now on, until <see cref="Heal"/>.</summary>
    public void Fail(GrainId grain)
    {
        _passingFirst.TryRemove(grain, out _);
        _failing[grain] = 0;
    }

    /// <summary>
    /// Lets the grain's next <paramref name="passing"/> reads and writes through, then refuses them as <see cref="Fail"/>
    /// does: how a test fails the second of two writes that belong together.
    /// </summary>
    public void FailAfter(GrainId grain, int passing)
    {
        _passingFirst[grain] = passing;
        _failing[grain] = 0;
    }

    /// <summary>Reads and writes of the grain refused so far (while it fails).</summary>
    public int Refused(GrainId grain) => _failing.GetValueOrDefault(grain);

    /// <summary>Takes the grain's reads and writes again; the number refused meanwhile.</summary>
    public int Heal(GrainId grain)
    {
        _passingFirst.TryRemove(grain, out _);
        return _failing.TryRemove(grain, out var refused) ? refused : 0;
    }

    /// <summary>Throws, as a database that cannot be reached would, when the grain's storage is refused.</summary>
    public void ThrowIfFailing(GrainId grain)
    {
        if (TakeOne(_failingNext, grain))
        {
            throw new TimeoutException($"Test fault: the grain storage refuses {grain} this once.");
        }

        if (!_failing.IsEmpty && _failing.ContainsKey(grain))
        {
            if (TakeOne(_passingFirst, grain))
            {
                return;
            }

            _failing.AddOrUpdate(grain, 1, (_, refused) => refused + 1);
            throw new TimeoutException($"Test fault: the grain storage refuses {grain}.");
        }
    }

    /// <summary>Takes one of the grain's remaining <paramref name="counts"/>; false when none is left.</summary>
    private static bool TakeOne(ConcurrentDictionary<GrainId, int> counts, GrainId grain)
    {
        while (!counts.IsEmpty && counts.TryGetValue(grain, out var left) && left > 0)
        {
            if (counts.TryUpdate(grain, left - 1, left))
            {
                return true;
            }
        }

        return false;
    }
}
