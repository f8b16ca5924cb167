using Orleans.Im.Users;

namespace Orleans.Im.Push;

/// <inheritdoc cref="IPushTokenGrain"/>
/// <remarks>
/// It never waits on a user grain (the one it tells is told one-way): a user grain waits on it while registering, and the
/// user it tells may be registering the same token at that moment.
/// </remarks>
public sealed class PushTokenGrain(
    [PersistentState("pushToken", StorageNames.Grains)] IPersistentState<PushTokenState> state,
    ImClock clock) : Grain, IPushTokenGrain
{
    public async Task<long> ClaimAsync(string userId, string deviceId)
    {
        var before = state.State.Holder;
        if (before is not null && before.UserId == userId && before.DeviceId == deviceId)
        {
            return state.State.Claims;
        }

        state.State.Holder = new PushTokenHolder(userId, deviceId, clock.UtcNow);
        state.State.Claims++;
        try
        {
            await state.WriteStateAsync();
        }
        catch
        {
            // Not held by the new user then: the earlier holder keeps it, and the registration is answered as failed.
            state.State.Holder = before;
            state.State.Claims--;
            throw;
        }

        if (before is not null && before.UserId != userId)
        {
            GrainFactory.For<IUserGrain>(before.UserId).OnPushTokenMovedAsync(before.DeviceId, this.GetPrimaryKeyString(), state.State.Claims).Ignore();
        }

        return state.State.Claims;
    }

    public async Task ReleaseAsync(string userId, string deviceId)
    {
        if (state.State.Holder is { } holder && holder.UserId == userId && holder.DeviceId == deviceId)
        {
            // Written, not cleared: the claim count stays, so a late notice of an old move never outranks a new claim.
            state.State.Holder = null;
            try
            {
                await state.WriteStateAsync();
            }
            catch
            {
                state.State.Holder = holder;
                throw;
            }
        }
    }

    public Task<PushTokenHolder?> GetHolderAsync() => Task.FromResult(state.State.Holder);
}
