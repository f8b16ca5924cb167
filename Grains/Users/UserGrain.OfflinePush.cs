using Microsoft.Extensions.Logging;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Push;

namespace Orleans.Im.Users;

// Offline push: devices that registered a push token and are not in the app (not connected, or in the background) are
// told of new messages, and rung for calls, through the operator's push gateway. The grain decides whom to tell (it knows
// the devices, the mutes and the unread counts); the silo's gateway client sends.
public sealed partial class UserGrain
{
    /// <summary>How often one caller's offers ring the callee's phones at most.</summary>
    private static readonly TimeSpan CallRingInterval = TimeSpan.FromSeconds(3);

    private const int MaxCallersRemembered = 64;

    /// <summary>Conversations notified at most when a device's connection is lost: a phone shows a handful, not a list.</summary>
    private const int MaxMissedNotified = 5;

    /// <summary>How much earlier than the client was last heard from a message may be stamped and still have been pushed
    /// after it (stored, then fanned out and pushed).</summary>
    private static readonly TimeSpan MissedSlack = TimeSpan.FromSeconds(1);

    /// <summary>When each recent caller last rang (made at the first call that rings).</summary>
    private Dictionary<string, DateTimeOffset>? _callsRung;

    public async Task<AccessStatus> SetPushTokenAsync(string deviceId, PushTokenRegistration? registration)
    {
        if (!GrainKeys.IsValidId(deviceId))
        {
            return AccessStatus.Invalid;
        }

        var tokens = state.State.PushTokens;
        if (registration is null)
        {
            if (!tokens.TryGetValue(deviceId, out var forgotten))
            {
                return AccessStatus.Ok;
            }

            if (!await SavePushTokensAsync(() => tokens.Remove(deviceId)))
            {
                return AccessStatus.Unavailable;
            }

            await ReleasePushTokenAsync(deviceId, forgotten);
            return AccessStatus.Ok;
        }

        if (!PushTokenRegistration.IsValid(registration.Provider, registration.Token) || string.IsNullOrEmpty(registration.SessionId))
        {
            return AccessStatus.Invalid;
        }

        if (tokens.TryGetValue(deviceId, out var known) && known with { RegisteredAt = registration.RegisteredAt } == registration)
        {
            // The same again (an app registers at every start): nothing to write, but claimed again, so that a claim that
            // failed before, or another user's since, is made good now (the phone signed in as someone else and back).
            return await ClaimPushTokenAsync(deviceId, registration) ? AccessStatus.Ok : AccessStatus.Unavailable;
        }

        // An entry of the same token under another device id is replaced below (a reinstalled app), not added to.
        if (known is null && tokens.Count(t => !t.Value.IsSameToken(registration)) >= PushTokenRegistration.MaxPerUser)
        {
            return AccessStatus.Conflict;
        }

        var saved = await SavePushTokensAsync(() =>
        {
            // A token stands for one install of the app: registered again under another device id (the app was
            // reinstalled and made a new one), the old entry would tell the same phone twice. Not released: the claim
            // below moves the token to this device.
            foreach (var other in tokens.Where(t => t.Key != deviceId && t.Value.IsSameToken(registration)).ToList())
            {
                tokens.Remove(other.Key);
            }

            tokens[deviceId] = registration;
        });
        if (!saved)
        {
            return AccessStatus.Unavailable;
        }

        if (known is not null && !known.IsSameToken(registration))
        {
            await ReleasePushTokenAsync(deviceId, known);
        }

        // Saved first, claimed second: a failed claim answers Unavailable, and the app's retry (the same again) claims.
        return await ClaimPushTokenAsync(deviceId, registration) ? AccessStatus.Ok : AccessStatus.Unavailable;
    }

    public Task<IReadOnlyDictionary<string, PushTokenRegistration>> GetPushTokensAsync() =>
        Task.FromResult<IReadOnlyDictionary<string, PushTokenRegistration>>(new Dictionary<string, PushTokenRegistration>(state.State.PushTokens, StringComparer.Ordinal));

    public async Task OnPushTokenRejectedAsync(string deviceId, string token)
    {
        if (state.State.PushTokens.TryGetValue(deviceId, out var registration) && registration.Token == token)
        {
            LogPushTokenRejected(logger, UserId, deviceId, registration.Provider);
            if (await SavePushTokensAsync(() => state.State.PushTokens.Remove(deviceId)))
            {
                await ReleasePushTokenAsync(deviceId, registration);
            }
        }
    }

    public async Task OnSessionsEndedAsync(IReadOnlyList<string> sessionIds, bool all)
    {
        ArgumentNullException.ThrowIfNull(sessionIds);
        await ForgetPushTokensAsync([.. state.State.PushTokens.Where(t => all || sessionIds.Contains(t.Value.SessionId)).Select(t => t.Key)]);
    }

    /// <summary>
    /// Forgets the push tokens of <paramref name="deviceIds"/> (those that have one) and releases them. Forgotten in memory
    /// even when the write fails (logged): this activation tells those devices nothing more.
    /// </summary>
    private async Task ForgetPushTokensAsync(IReadOnlyList<string> deviceIds)
    {
        var forgotten = state.State.PushTokens.Where(t => deviceIds.Contains(t.Key)).ToList();
        if (forgotten.Count == 0)
        {
            return;
        }

        if (!await SavePushTokensAsync(() => forgotten.ForEach(d => state.State.PushTokens.Remove(d.Key))))
        {
            forgotten.ForEach(d => state.State.PushTokens.Remove(d.Key));
        }

        foreach (var (deviceId, registration) in forgotten)
        {
            await ReleasePushTokenAsync(deviceId, registration);
        }
    }

    public async Task OnPushTokenMovedAsync(string deviceId, string tokenKey)
    {
        if (!state.State.PushTokens.TryGetValue(deviceId, out var registration) || PushTokenKeys.For(registration.Provider, registration.Token) != tokenKey)
        {
            return;
        }

        // Asked, not taken on trust: the notice may come late (this device claimed the token again since), or twice. No
        // answer: kept for now; the gateway client asks again before it tells the device anything.
        PushTokenHolder? holder;
        try
        {
            holder = await GrainFactory.For<IPushTokenGrain>(tokenKey).GetHolderAsync();
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogPushTokenNotClaimed(logger, UserId, deviceId, ex.Message);
            return;
        }

        // Claimed last by another device (released by it since or not): not this device's any more. Never claimed: kept.
        if (holder is null || (holder.UserId == UserId && holder.DeviceId == deviceId))
        {
            return;
        }

        LogPushTokenMoved(logger, UserId, deviceId, registration.Provider);
        // Forgotten in memory even when the write fails (logged): the phone is somebody else's now.
        if (!await SavePushTokensAsync(() => state.State.PushTokens.Remove(deviceId)))
        {
            state.State.PushTokens.Remove(deviceId);
        }
    }

    /// <summary>
    /// Makes the device the token's holder across users (see <see cref="IPushTokenGrain"/>); false when the token's grain
    /// could not (logged). Asked at every registration, not once per activation: this user's grain cannot know that
    /// another user claimed the token since (the notice that says so is one-way and may be lost), and the token's grain
    /// answers at once when the holder is already this device.
    /// </summary>
    private async Task<bool> ClaimPushTokenAsync(string deviceId, PushTokenRegistration registration)
    {
        try
        {
            await GrainFactory.For<IPushTokenGrain>(PushTokenKeys.For(registration.Provider, registration.Token)).ClaimAsync(UserId, deviceId);
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogPushTokenNotClaimed(logger, UserId, deviceId, ex.Message);
            return false;
        }
    }

    /// <summary>
    /// The device forgot the token: its grain stops naming this user (unless another user holds it by now). Awaited, so
    /// that a registration of the same token right after is claimed after this; a failure is logged and harmless (the
    /// grain goes on naming a device that no longer has the token, which a later claim by anybody replaces).
    /// </summary>
    private async Task ReleasePushTokenAsync(string deviceId, PushTokenRegistration registration)
    {
        try
        {
            await GrainFactory.For<IPushTokenGrain>(PushTokenKeys.For(registration.Provider, registration.Token)).ReleaseAsync(UserId, deviceId);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogPushTokenNotReleased(logger, UserId, deviceId, ex.Message);
        }
    }

    /// <summary>Changes the tokens and writes them; on a failed write the change is undone and false returned.</summary>
    private async Task<bool> SavePushTokensAsync(Action change)
    {
        var before = new Dictionary<string, PushTokenRegistration>(state.State.PushTokens, StringComparer.Ordinal);
        change();
        try
        {
            await state.WriteStateAsync();
            return true;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            state.State.PushTokens = before;
            LogPushTokensNotSaved(logger, UserId, ex.Message);
            DropIfStale(ex);
            return false;
        }
    }

    /// <summary>
    /// A message from someone else: every device with a push token that is not in the app (not connected, or connected
    /// with the app in the background) is told, unless the conversation is muted and the message does not mention the
    /// user. Devices in the app got the push.
    /// </summary>
    private void NotifyDevicesNotConnected(ChatMessage message)
    {
        var tokens = state.State.PushTokens;
        if (tokens.Count == 0 || !offlineNotifier.Enabled || message.Class == MessageClass.Instant
            // A group's notices (who joined, who left) are shown, not rung: a large group's joins would ring all day.
            || GroupNotices.Is(message.Content)
            || !_index.TryGetValue(message.ConversationId, out var row) || row.Entry.Removed)
        {
            return;
        }

        var mentioned = MentionList.Includes(message.Mentions, UserId);
        if ((row.Entry.Muted && !mentioned) || message.Seq <= row.Entry.ReadSeq)
        {
            // Muted, or read already on another device (a message that came late).
            return;
        }

        long? badge = null;
        foreach (var (deviceId, token) in tokens)
        {
            if (InTheApp(deviceId))
            {
                continue;
            }

            badge ??= Badge();
            offlineNotifier.Enqueue(new OfflineNotification(UserId, deviceId, token.Provider, token.Token, token.SessionId, message.ConversationId,
                row.Entry.Kind, message.Seq, message.SenderId, message.Content?.Type, token.HidePreviews ? null : MessagePreviews.From(message).Text, badge.Value,
                mentioned, message.CollapseKey, message.ServerTime));
        }
    }

    /// <summary>
    /// A device in the app lost its connection (see <see cref="DisconnectLostDeviceAsync"/>): what was pushed to it after
    /// its edge last heard from it may have gone into a connection that was dead already, and was notified to nobody. Each
    /// conversation whose newest message came since then and is unread (muted ones only with an unread mention) is notified
    /// once, with its newest message, the most recent <see cref="MaxMissedNotified"/>. A message the app did show but the
    /// user did not open may so be notified; the gateway's dedupe key is the message's, as for any other.
    /// </summary>
    private void NotifyMissedWhileLost(string deviceId, DateTimeOffset lastHeard)
    {
        if (!offlineNotifier.Enabled || InTheApp(deviceId) || !state.State.PushTokens.TryGetValue(deviceId, out var token))
        {
            return;
        }

        // A message is stamped when stored and pushed a little later: one stamped just before the client was last heard
        // from may have been pushed after it.
        var since = lastHeard - MissedSlack;
        var missed = _index.Values
            .Select(r => r.Entry)
            .Where(e => !e.Removed && e.LastSeq > e.ReadSeq && e.LastMessage is { } last && last.ServerTime >= since
                        && last.SenderId != UserId && last.State is MessageState.Normal or MessageState.Edited
                        // A group's notice rings no phone, here as when it was sent.
                        && !GroupNotices.Is(last)
                        // Muted: only when the newest message is the unread mention.
                        && (!e.Muted || (e.Mentioned && e.MentionSeq == e.LastMessage.Seq)))
            .OrderByDescending(e => e.LastMessage!.ServerTime)
            .Take(MaxMissedNotified)
            .ToList();
        if (missed.Count == 0)
        {
            return;
        }

        var badge = Badge();
        // Aged from now, not from the message: the loss is found at the connection's idle timeout (two minutes, as long
        // as the gateway client's age limit), so a message from just before it would otherwise be dropped as stale.
        var foundAt = clock.UtcNow;
        foreach (var entry in missed)
        {
            var last = entry.LastMessage!;
            offlineNotifier.Enqueue(new OfflineNotification(UserId, deviceId, token.Provider, token.Token, token.SessionId, entry.ConversationId,
                entry.Kind, last.Seq, last.SenderId, last.Type, token.HidePreviews ? null : last.Text, badge, entry.Mentioned && entry.MentionSeq == last.Seq, CollapseKey: null, last.ServerTime,
                AgedFrom: foundAt));
        }
    }

    /// <summary>
    /// A call offer rings the devices with a push token that are not in the app (those in it got the signal pushed);
    /// the number of devices rung. Muting a conversation silences its messages, not its calls. A caller rings at most once
    /// per <see cref="CallRingInterval"/>: an offer sent again (a retry, or many) does not ring the phones again.
    /// </summary>
    private int WakeDevicesForCall(ChatMessage message)
    {
        var tokens = state.State.PushTokens;
        if (tokens.Count == 0 || !offlineNotifier.Enabled || !CallSignal.IsOffer(message.Content))
        {
            return 0;
        }

        var away = tokens.Where(t => !InTheApp(t.Key)).ToList();
        var now = clock.UtcNow;
        _callsRung ??= new(StringComparer.Ordinal);
        if (away.Count == 0 || (_callsRung.TryGetValue(message.SenderId, out var rung) && now - rung < CallRingInterval))
        {
            return away.Count;
        }

        _callsRung[message.SenderId] = now;
        if (_callsRung.Count > MaxCallersRemembered)
        {
            // Only recent callers matter; many at once is no reason to remember them all.
            _callsRung.Clear();
        }

        var badge = Badge();
        foreach (var (deviceId, token) in away)
        {
            offlineNotifier.Enqueue(new OfflineNotification(UserId, deviceId, token.Provider, token.Token, token.SessionId, message.ConversationId,
                Conversations.ConversationKind.P2P, 0, message.SenderId, message.Content?.Type, null, badge, false, null, message.ServerTime,
                Call: message.Content?.CustomData, CallClientMsgId: message.ClientMsgId));
        }

        return away.Count;
    }

    /// <summary>Whether the user is in the app on this device: connected, and not in the background.</summary>
    private bool InTheApp(string deviceId) => _devices.TryGetValue(deviceId, out var device) && !device.Away;

    /// <summary>The app icon's number: unread messages outside muted conversations.</summary>
    private long Badge() => _index.Values.Where(r => !r.Entry.Removed && !r.Entry.Muted).Sum(r => r.Entry.UnreadCount);

    [LoggerMessage(20, LogLevel.Information, "User {UserId}: the push service refused the token of device {DeviceId} ({Provider}); forgotten")]
    private static partial void LogPushTokenRejected(ILogger logger, string userId, string deviceId, string provider);

    [LoggerMessage(21, LogLevel.Warning, "User {UserId}: push tokens not saved: {Reason}")]
    private static partial void LogPushTokensNotSaved(ILogger logger, string userId, string reason);

    [LoggerMessage(22, LogLevel.Information, "User {UserId}: another user registered the token of device {DeviceId} ({Provider}); forgotten")]
    private static partial void LogPushTokenMoved(ILogger logger, string userId, string deviceId, string provider);

    [LoggerMessage(23, LogLevel.Warning, "User {UserId}: the holder of device {DeviceId}'s push token could not be claimed or asked: {Reason}")]
    private static partial void LogPushTokenNotClaimed(ILogger logger, string userId, string deviceId, string reason);

    [LoggerMessage(24, LogLevel.Warning, "User {UserId}: the push token device {DeviceId} forgot could not be released: {Reason}")]
    private static partial void LogPushTokenNotReleased(ILogger logger, string userId, string deviceId, string reason);
}
