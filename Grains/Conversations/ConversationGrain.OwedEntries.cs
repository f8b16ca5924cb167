using Microsoft.Extensions.Logging;
using Orleans.Im.Groups;
using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>
/// Group members' entries still owed, and the switch of every entry after the group crossed the large-group threshold:
/// made again on a timer, not only when an admin retries the change (they may never: the group was stored, and a member
/// without an entry silently missed every message).
/// </summary>
public sealed partial class ConversationGrain
{
    /// <summary>The first retry of owed entries; each next one waits twice as long, up to <see cref="OwedEntriesMaxDelay"/>.</summary>
    private static readonly TimeSpan OwedEntriesFirstDelay = TimeSpan.FromSeconds(5);

    private static readonly TimeSpan OwedEntriesMaxDelay = TimeSpan.FromMinutes(5);

    private IGrainTimer? _owedEntriesTimer;
    private TimeSpan _owedEntriesDelay = OwedEntriesFirstDelay;

    /// <summary>
    /// Makes the entries of <see cref="ConversationState.EntriesOwed"/> (at the head, anew: see <see cref="JoinEntryAsync"/>)
    /// and forgets those confirmed; null when none is owed any longer, else the answer to retry (and a retry is armed).
    /// </summary>
    private async Task<GroupResult?> SettleEntriesOwedAsync()
    {
        var owed = state.State.EntriesOwed;
        if (owed.Count == 0)
        {
            return null;
        }

        // Removed since: nothing owed to them.
        var members = owed.Where(IsMember).Distinct(StringComparer.Ordinal).ToList();
        (_joinsAnewPending ??= new(StringComparer.Ordinal)).UnionWith(members);
        var readDiffusion = IsLargeGroup;
        var last = _recent.Last;
        var made = await Task.WhenAll(members.Select(m => EntryMadeAsync(m, readDiffusion, last is null ? null : HeadFor(m, last))));
        var left = members.Where((_, i) => !made[i]).ToList();
        if (left.Count != owed.Count)
        {
            state.State.EntriesOwed = left;
            // A failed write leaves the list longer than needed (and restores it in memory): those made are made again,
            // anew, at the next settling, which starts their read position at the head again. Rare (storage failing
            // right then), and what they had not read yet is still in their history.
            await SaveAsync();
        }

        if (state.State.EntriesOwed.Count == 0)
        {
            return null;
        }

        ArmOwedEntriesRetry();
        return new GroupResult(AccessStatus.Unavailable, Info(), "members' entries not all saved; retry");
    }

    private async Task<bool> EntryMadeAsync(string member, bool readDiffusion, ChatMessage? head)
    {
        try
        {
            return await JoinEntryAsync(member, readDiffusion, head);
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return false;
        }
    }

    /// <summary>After a change, or at activation, that left entries owed or the large-group switch pending.</summary>
    private void ArmOwedEntriesRetry()
    {
        if (_owedEntriesTimer is not null)
        {
            return;
        }

        // Not kept alive by it: a group nobody touches sends nothing to miss, and its next activation arms it again.
        _owedEntriesTimer = this.RegisterGrainTimer(RetryOwedEntriesAsync,
            new GrainTimerCreationOptions(_owedEntriesDelay, Timeout.InfiniteTimeSpan) { Interleave = false, KeepAlive = false });
    }

    private async Task RetryOwedEntriesAsync(CancellationToken cancellationToken)
    {
        _owedEntriesTimer?.Dispose();
        _owedEntriesTimer = null;
        if (!IsGroup)
        {
            return;
        }

        var owed = await SettleEntriesOwedAsync();
        var switched = await SwitchEntriesIfPendingAsync([]);
        if (owed is null && switched is null)
        {
            _owedEntriesDelay = OwedEntriesFirstDelay;
            return;
        }

        LogEntriesStillOwed(logger, ConversationId, state.State.EntriesOwed.Count, state.State.DiffusionSwitchPending);
        _owedEntriesDelay = TimeSpan.FromTicks(Math.Min(_owedEntriesDelay.Ticks * 2, OwedEntriesMaxDelay.Ticks));
        ArmOwedEntriesRetry();
    }

    [LoggerMessage(24, LogLevel.Warning, "Conversation {ConversationId}: {Owed} members' entries still not made (large-group switch pending: {SwitchPending}); tried again later")]
    private static partial void LogEntriesStillOwed(ILogger logger, string conversationId, int owed, bool switchPending);
}
