using Orleans.Im.Messages;
using Orleans.Im.PublicAccounts;
using Orleans.Im.Storage;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

// Official accounts (pub:{id}): one log that operators broadcast into as the account; subscribers read it by read
// diffusion (their entries catch up at sync; online subscribers are pushed each broadcast). Subscriptions are rows
// of their own table, loaded into memory once per activation.
public sealed partial class ConversationGrain
{
    /// <summary>Sorted: the subscriber list is paged by id, and a page must not cost a sort of every subscriber (the
    /// grain's broadcasts wait behind it; at 200,000 subscribers one page took ~100 ms).</summary>
    private readonly SortedSet<string> _subscribers = new(StringComparer.Ordinal);

    private bool IsPublicAccount => _address?.Kind == ConversationKind.PublicAccount;

    public async Task<AccessStatus> SetupPublicAccountAsync(string name, IReadOnlyList<string> operatorIds)
    {
        ArgumentNullException.ThrowIfNull(operatorIds);
        if (!IsPublicAccount)
        {
            return AccessStatus.NoAccess;
        }

        if (string.IsNullOrWhiteSpace(name) || name.Length > PublicAccountLimits.MaxNameLength || !StorableText.IsStorable(name)
            || operatorIds.Count > PublicAccountLimits.MaxOperators || operatorIds.Any(id => !GrainKeys.IsValidUserId(id)))
        {
            return AccessStatus.Invalid;
        }

        var wasInitialized = state.State.Initialized;
        state.State.Name = name.Trim();
        state.State.PublicAccountOperators = [.. operatorIds.Distinct(StringComparer.Ordinal)];
        if (!wasInitialized)
        {
            state.State.Initialized = true;
            state.State.OwnerId = _address!.First;
            state.State.CreatedAt = clock.UtcNow;
        }

        try
        {
            await state.WriteStateAsync();
            if (!wasInitialized)
            {
                await LoadSubscribersAsync();
            }

            return AccessStatus.Ok;
        }
        catch (Exception ex) when (StorageFailures.IsTransient(ex))
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            await RestoreStoredStateAsync();
            return AccessStatus.Unavailable;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Whatever else refused it (a conflicting write): memory must not grant operators storage does not hold.
            await RestoreStoredStateAsync();
            throw;
        }
    }

    public Task<PublicAccountInfo?> GetPublicAccountAsync() =>
        Task.FromResult(IsPublicAccount && state.State.Initialized
            ? new PublicAccountInfo(_address!.First, state.State.Name ?? "", [.. state.State.PublicAccountOperators], _subscribers.Count, state.State.CreatedAt)
            : null);

    public async Task<AccessStatus> SubscribeAsync(string userId)
    {
        if (!IsPublicAccount || !state.State.Initialized)
        {
            return AccessStatus.NoAccess;
        }

        if (!GrainKeys.IsValidUserId(userId) || userId == _address!.First)
        {
            return AccessStatus.Invalid;
        }

        // New by the account's table (the truth), not by the user's entry: an unsubscribe whose removal never reached the
        // user's grain leaves a live entry behind, whose read position is from before everything broadcast since.
        var subscribing = !_subscribers.Contains(userId);
        if (subscribing)
        {
            (_joinsAnewPending ??= new(StringComparer.Ordinal)).Add(userId);
        }

        try
        {
            // The row first: it is the truth. The entry is (re)made every time, so a retry after a failed entry save heals it.
            await subscriptions.AddAsync(_address.First, userId, clock.UtcNow);
            _subscribers.Add(userId);
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return AccessStatus.Unavailable;
        }

        var head = _recent.Last is { } last ? ViewFor(userId, last) : null;
        bool joined;
        try
        {
            joined = await JoinEntryAsync(userId, readDiffusion: true, head);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // The user's grain failed (its activation's storage, a timeout): an answer to retry, which makes the entry.
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            joined = false;
        }

        if (!joined && subscribing)
        {
            // Not left half made: the account would count and reach a subscriber whose list has no entry (who gets no
            // broadcast and does not see the subscription) until a retry that may never come. An entry the user's grain
            // made after all, its answer lost, goes at the user's next sync, which finds no subscription.
            await UndoSubscriptionAsync(userId);
        }

        return joined ? AccessStatus.Ok : AccessStatus.Unavailable;
    }

    private async Task UndoSubscriptionAsync(string userId)
    {
        try
        {
            await subscriptions.RemoveAsync(_address!.First, userId);
            _subscribers.Remove(userId);
        }
        catch (StorageUnavailableException ex)
        {
            // Left subscribed: the user's retry, or an unsubscribe, settles it.
            LogStorageUnavailable(logger, ConversationId, ex.Message);
        }
    }

    public async Task<AccessStatus> UnsubscribeAsync(string userId)
    {
        if (!IsPublicAccount || !state.State.Initialized)
        {
            return AccessStatus.NoAccess;
        }

        if (!GrainKeys.IsValidUserId(userId))
        {
            return AccessStatus.Invalid;
        }

        try
        {
            await subscriptions.RemoveAsync(_address!.First, userId);
        }
        catch (StorageUnavailableException ex)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return AccessStatus.Unavailable;
        }

        _subscribers.Remove(userId);
        ForgetOnline(userId);
        // The subscription is gone (the truth) even if the entry could not be marked removed now: the user's next sync
        // asks this grain, which answers "no access", and the entry is removed then.
        try
        {
            await GrainFactory.For<IUserGrain>(userId).RemoveConversationAsync(ConversationId);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // The user's grain failed (its activation's storage, a timeout): the unsubscribe stands all the same, and the
            // caller is told so rather than handed an error for something done.
            LogStorageUnavailable(logger, ConversationId, ex.Message);
        }

        return AccessStatus.Ok;
    }

    public Task<IReadOnlyList<string>> ListSubscribersAsync(string? afterUserId, int limit)
    {
        var take = Math.Clamp(limit, 1, PublicAccountLimits.MaxSubscriberPage);
        if (_subscribers.Count == 0 || (afterUserId is not null && string.CompareOrdinal(afterUserId, _subscribers.Max) >= 0))
        {
            return Task.FromResult<IReadOnlyList<string>>([]);
        }

        var after = afterUserId is null ? _subscribers : _subscribers.GetViewBetween(afterUserId, _subscribers.Max!);
        IReadOnlyList<string> page = [.. after.SkipWhile(id => id == afterUserId).Take(take)];
        return Task.FromResult(page);
    }

    public Task<IReadOnlyList<string>> FilterSubscribersAsync(IReadOnlyList<string> userIds)
    {
        ArgumentNullException.ThrowIfNull(userIds);
        IReadOnlyList<string> subscribed = [.. userIds.Where(_subscribers.Contains).Distinct(StringComparer.Ordinal)];
        return Task.FromResult(subscribed);
    }

    /// <summary>Official accounts: the account itself and its operators may broadcast.</summary>
    private bool IsBroadcaster(string userId) =>
        IsPublicAccount && state.State.Initialized
        && (userId == _address!.First || state.State.PublicAccountOperators.Contains(userId));

    /// <summary>An operator broadcasts as the account; who really sent it is kept beside the message (for audit).</summary>
    private ActingAgent? ActingOperatorFor(string senderId) =>
        IsBroadcaster(senderId) && senderId != _address!.First ? new ActingAgent(senderId, null) : null;

    private async Task LoadSubscribersAsync()
    {
        _subscribers.Clear();
        _subscribers.UnionWith(await subscriptions.LoadSubscribersAsync(_address!.First));
    }
}
