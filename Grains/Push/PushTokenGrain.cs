using Orleans.Im.Users;

namespace Orleans.Im.Push;

/// <inheritdoc cref="IPushTokenGrain"/>
/// <remarks>
/// It never waits on a user grain (the one it tells is told one-way): user grains wait on it while registering and
/// forgetting, and the user it tells may be registering the same token at that moment. A user grain told of a move asks
/// who holds the token before it forgets, so a notice that comes late, or twice, changes nothing.
/// </remarks>
public sealed class PushTokenGrain(
    [PersistentState("pushToken", StorageNames.Grains)] IPersistentState<PushTokenState> state,
    ImClock clock) : Grain, IPushTokenGrain
{
    public async Task ClaimAsync(string userId, string deviceId)
    {
        var before = state.State.Holder;
        if (before is not null && before.UserId == userId && before.DeviceId == deviceId && !before.Released)
        {
            return;
        }

        await WriteAsync(new PushTokenHolder(userId, deviceId, clock.UtcNow));
        if (before is not null && before.UserId != userId)
        {
            GrainFactory.For<IUserGrain>(before.UserId).OnPushTokenMovedAsync(before.DeviceId, this.GetPrimaryKeyString()).Ignore();
        }
    }

    public async Task ReleaseAsync(string userId, string deviceId)
    {
        if (state.State.Holder is { Released: false } holder && holder.UserId == userId && holder.DeviceId == deviceId)
        {
            // Kept as the last claimant, not cleared: another user's registration that missed this claim's notice is still
            // not the holder's, and the gateway client and its grain find that out by asking.
            await WriteAsync(holder with { Released = true });
        }
    }

    public Task<PushTokenHolder?> GetHolderAsync() => Task.FromResult(state.State.Holder);

    /// <summary>Writes the holder; on a failed write the one before stays in memory, the activation goes, and the failure is the caller's.</summary>
    private async Task WriteAsync(PushTokenHolder? holder)
    {
        var before = state.State.Holder;
        state.State.Holder = holder;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            state.State.Holder = before;
            // The write may be stored with its answer lost: memory is then behind storage, and every later write of this
            // token's holder refused as stale. The next call reads what storage holds.
            DeactivateOnIdle();
            throw;
        }
    }
}
