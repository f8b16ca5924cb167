using Orleans.Storage;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// The silo's grain storage with <see cref="StorageFaults"/> in front of it: a failing grain can neither write nor read
/// (so a failing grain that is not active cannot activate). It takes part in the silo's lifecycle for the storage it
/// wraps (which initializes there).
/// </summary>
public sealed class FaultyGrainStorage(IGrainStorage inner, StorageFaults faults) : IGrainStorage, ILifecycleParticipant<ISiloLifecycle>
{
    public Task ReadStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        faults.ThrowIfFailing(grainId);
        return inner.ReadStateAsync(stateName, grainId, grainState);
    }

    /// <summary>Writes, after a hold the test asked for (<see cref="StorageFaults.HoldNext"/>): a write in progress.</summary>
    public async Task WriteStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        await faults.WhileHeldAsync(grainId);
        faults.ThrowIfFailing(grainId);
        var version = grainState.ETag;
        await inner.WriteStateAsync(stateName, grainId, grainState);
        if (faults.TakeLostAnswer(grainId))
        {
            grainState.ETag = version;
            throw new TimeoutException($"Test fault: the answer of {grainId}'s write was lost.");
        }
    }

    public Task ClearStateAsync<T>(string stateName, GrainId grainId, IGrainState<T> grainState)
    {
        faults.ThrowIfFailing(grainId);
        return inner.ClearStateAsync(stateName, grainId, grainState);
    }

    public void Participate(ISiloLifecycle lifecycle) => (inner as ILifecycleParticipant<ISiloLifecycle>)?.Participate(lifecycle);
}
