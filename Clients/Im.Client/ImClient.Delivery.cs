using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

// In-order, exactly-once delivery: pushes are hints; gaps are filled from the log by pull.
public sealed partial class ImClient
{
    private async Task DeliveryLoopAsync()
    {
        await foreach (var work in _work.Reader.ReadAllAsync(_disposing.Token).ConfigureAwait(false))
        {
            var connection = _connection;
            try
            {
                switch (work)
                {
                    case Work.Pushed pushed:
                        if (await OnPushAsync(pushed.Batch).ConfigureAwait(false) is { } failure)
                        {
                            OnCatchUpFailed(connection, failure, fromPush: true);
                        }

                        break;
                    case Work.CatchUp:
                        await CatchUpAsync().ConfigureAwait(false);
                        _catchUpBackoff = TimeSpan.Zero;
                        break;
                }
            }
            catch (ImClientException ex)
            {
                OnCatchUpFailed(connection, ex, fromPush: false);
            }
        }
    }

    /// <summary>
    /// A sync or pull of the client's own failed, and what it was filling is still missing: without another catch-up it
    /// would wait for the next push into that conversation or for <see cref="ImClientOptions.CatchUpInterval"/>. After a
    /// push's gap could not be filled (<paramref name="fromPush"/>), a catch-up follows however the pull was refused: the
    /// catch-up is a different request (a sync, then pulls from what was delivered), and nothing else would look again.
    /// </summary>
    private void OnCatchUpFailed(Connection? connection, ImClientException failure, bool fromPush)
    {
        if (_disposing.IsCancellationRequested || connection is null || !connection.IsOpen || !ReferenceEquals(_connection, connection))
        {
            // Lost the connection while catching up: the reconnect queues another catch-up.
            return;
        }

        var unanswered = failure.InnerException is TimeoutException;
        if ((!fromPush && !unanswered && failure.Error is not { Retryable: true }) || Interlocked.Exchange(ref _catchUpRetryPending, 1) == 1)
        {
            // A catch-up refused for good (the request is wrong, not the moment: asking again would loop), or a retry is
            // already on its way.
            return;
        }

        // Refused for the moment (the cluster or storage unavailable during a failover, rate limited), or not answered in
        // time (a slow server; a dead link is for the pings to find, and closing a live connection over a slow answer
        // would have every client log in and sync again just when the server is slowest): again after a pause that
        // doubles while it keeps failing, jittered so that clients refused together do not come back together.
        _catchUpBackoff = NextBackoff(_catchUpBackoff);
        var delay = Jitter.Spread(_catchUpBackoff);
        _ = Task.Delay(delay, _disposing.Token).ContinueWith(
            _ =>
            {
                Volatile.Write(ref _catchUpRetryPending, 0);
                _work.Writer.TryWrite(new Work.CatchUp());
            },
            CancellationToken.None,
            TaskContinuationOptions.OnlyOnRanToCompletion,
            TaskScheduler.Default);
    }

    /// <summary>
    /// Delivers a batch's events in order; the first failure to fill a gap or catch up, if any, is returned once all of
    /// them were handled. Each event stands alone: a gap in one conversation that cannot be filled now must not lose the
    /// read receipts, changes, entries and other conversations' messages behind it (the catch-up that follows fills the
    /// gap; nothing would bring those back).
    /// </summary>
    private async Task<ImClientException?> OnPushAsync(PushBatch batch)
    {
        ImClientException? firstFailure = null;
        foreach (var pushed in batch.Events)
        {
            try
            {
                await OnPushedAsync(pushed).ConfigureAwait(false);
            }
            catch (ImClientException ex)
            {
                firstFailure ??= ex;
            }
        }

        return firstFailure;
    }

    private async Task OnPushedAsync(Event pushed)
    {
        switch (pushed.KindCase)
        {
            case Event.KindOneofCase.Message when IsRoom(pushed.Message.ConversationId):
                // Once: the join's history may hold it already (the room pushed it while the join was answered).
                if (_roomSightings.FirstSight(pushed.Message))
                {
                    _messages.Writer.TryWrite(pushed.Message);
                }

                break;
            case Event.KindOneofCase.Message when pushed.Message.Seq == 0:
                _messages.Writer.TryWrite(pushed.Message);
                break;
            case Event.KindOneofCase.Message:
                await SequenceAsync(pushed.Message).ConfigureAwait(false);
                break;
            case Event.KindOneofCase.Resync:
                await CatchUpAsync().ConfigureAwait(false);
                break;
            case Event.KindOneofCase.Conversation when pushed.Conversation.Removed && IsRoom(pushed.Conversation.ConversationId):
                if (OnRoomLeft(pushed.Conversation))
                {
                    _roomSightings.Forget(pushed.Conversation.ConversationId);
                }

                _events.Writer.TryWrite(pushed);
                break;
            case Event.KindOneofCase.Kick:
                // Replaced or signed out by the server (noted on arrival): reconnecting by itself would only fight it.
                _events.Writer.TryWrite(pushed);
                break;
            default:
                _events.Writer.TryWrite(pushed);
                break;
        }
    }

    private async Task SequenceAsync(Message message)
    {
        var conversationId = message.ConversationId;
        var delivered = Delivered(conversationId);
        if (message.Seq <= delivered)
        {
            return;
        }

        if (message.Seq > delivered + 1)
        {
            if (!_ahead.TryGetValue(conversationId, out var ahead))
            {
                ahead = [];
                _ahead[conversationId] = ahead;
            }

            ahead[message.Seq] = message;
            if (!_firstSyncDone && !IsKnown(conversationId))
            {
                // Before the first sync says where this conversation's reading stands, a gap is not filled from its start:
                // that would deliver what was read long ago (on another device) as new. The sync fills it from there.
                return;
            }

            await FillAsync(conversationId, message.Seq - 1).ConfigureAwait(false);
            return;
        }

        Deliver(message);
        DrainAhead(conversationId);
    }

    private bool IsKnown(string conversationId)
    {
        lock (_delivered)
        {
            return _delivered.ContainsKey(conversationId);
        }
    }

    /// <summary>Syncs since the last completed sync, then pulls every conversation up to its last seq.</summary>
    private async Task CatchUpAsync()
    {
        // Not "nothing delivered yet": a push may come before the first catch-up (even before the login's answer), and
        // would make the first sync start every other conversation at 0 and deliver what was read long ago as new.
        var firstSync = !_firstSyncDone;
        SyncResponse sync;
        do
        {
            sync = await SyncAsync(Volatile.Read(ref _syncVersion)).ConfigureAwait(false);
            await CatchUpPageAsync(sync, firstSync).ConfigureAwait(false);
            // A long answer comes in pages (the frame limit): each one's version is where the next begins.
            Volatile.Write(ref _syncVersion, sync.Version);
        }
        while (sync.HasMore);

        _firstSyncDone = true;
        foreach (var (conversationId, ahead) in _ahead.Where(a => a.Value.Count > 0 && !IsKnown(a.Key)).ToList())
        {
            // Parked before the first sync and not in it (the sync's entry came later than the push): from the start, as
            // for any conversation new since; one refused for good is left, as in the sync.
            try
            {
                await FillAsync(conversationId, ahead.Keys.Min() - 1).ConfigureAwait(false);
            }
            catch (ImClientException ex) when (ex.Error is { Retryable: false })
            {
                _ahead.Remove(conversationId);
            }
        }

        await FetchPendingChangesAsync().ConfigureAwait(false);
    }

    /// <summary>One page of a sync: the entries told, and what they say is missing pulled.</summary>
    private async Task CatchUpPageAsync(SyncResponse sync, bool firstSync)
    {
        foreach (var entry in sync.Changed)
        {
            // A conversation this client never saw starts at its read position on the very first sync (the unread
            // messages), and from the beginning afterwards (all of it is new).
            long? ownFirst = null;
            bool unseen;
            lock (_delivered)
            {
                unseen = !_delivered.ContainsKey(entry.ConversationId);
                if (unseen && firstSync && _ackedBeforeFirstSync.TryGetValue(entry.ConversationId, out var acked))
                {
                    ownFirst = acked;
                }
            }

            if (unseen)
            {
                var start = firstSync ? entry.ReadSeq : 0;
                if (ownFirst is { } own && start >= own && !entry.Removed)
                {
                    // The sync answered after the device's own message, which moved the read position past it.
                    start = await StartBeforeOwnMessageAsync(entry.ConversationId, own - 1).ConfigureAwait(false);
                }
                else if (ownFirst is { } earlier)
                {
                    start = Math.Min(start, earlier - 1);
                }

                lock (_delivered)
                {
                    if (!_delivered.ContainsKey(entry.ConversationId))
                    {
                        // Whatever it pulls comes as it is now: no change made before is news to it.
                        _changesSeen[entry.ConversationId] = entry.ChangedAtMs;
                        _delivered[entry.ConversationId] = start;
                    }
                }
            }

            _events.Writer.TryWrite(new Event { Conversation = entry });
            if (!entry.Removed && entry.LastSeq > Delivered(entry.ConversationId))
            {
                try
                {
                    await FillAsync(entry.ConversationId, entry.LastSeq).ConfigureAwait(false);
                }
                catch (ImClientException ex) when (ex.Error is { Retryable: false })
                {
                    // This conversation refuses its pull for good (an agent's session handed on before the entry says so):
                    // the others still fill, and the sync moves on, instead of failing here at every catch-up for ever.
                    // A later push of it tries again.
                }
            }

            if (!entry.Removed)
            {
                await FetchChangesOrLaterAsync(entry.ConversationId, entry.ChangedAtMs).ConfigureAwait(false);
            }
        }
    }

    /// <summary>
    /// <see cref="FetchChangesAsync"/>, and when it is refused, kept for the next catch-up instead of failing this one:
    /// the other conversations still fill, and the sync moves on (its entry would not come again by itself).
    /// </summary>
    private async Task FetchChangesOrLaterAsync(string conversationId, long changedAtMs)
    {
        try
        {
            await FetchChangesAsync(conversationId, changedAtMs).ConfigureAwait(false);
            lock (_delivered)
            {
                if (_changesPending.TryGetValue(conversationId, out var pending) && pending <= changedAtMs)
                {
                    _changesPending.Remove(conversationId);
                }
            }
        }
        catch (ImClientException)
        {
            lock (_delivered)
            {
                _changesPending[conversationId] = Math.Max(changedAtMs, _changesPending.GetValueOrDefault(conversationId));
            }
        }
    }

    /// <summary>Changes whose fetch was refused at an earlier catch-up, tried again.</summary>
    private async Task FetchPendingChangesAsync()
    {
        KeyValuePair<string, long>[] pending;
        lock (_delivered)
        {
            pending = [.. _changesPending];
        }

        foreach (var (conversationId, changedAtMs) in pending)
        {
            await FetchChangesOrLaterAsync(conversationId, changedAtMs).ConfigureAwait(false);
        }
    }

    /// <summary>
    /// Changes (edits, recalls) to messages already delivered that were made after the last ones fetched, up to
    /// <paramref name="changedAtMs"/> (the entry's latest): told as <see cref="Event.Changed"/> events. A change pushed
    /// while it happened is fetched once more at the next catch-up (a push may have been dropped before it, and the
    /// fetch must not skip that one): apply changes by revision.
    /// </summary>
    private async Task FetchChangesAsync(string conversationId, long changedAtMs)
    {
        var seen = ChangesSeen(conversationId);
        while (changedAtMs > seen)
        {
            var page = await PullChangesAsync(conversationId, seen, _options.PullPageSize).ConfigureAwait(false);
            var before = seen;
            var delivered = Delivered(conversationId);
            foreach (var message in page.Messages)
            {
                // Later ones are delivered as they are now, by the fill.
                if (message.Seq <= delivered)
                {
                    _events.Writer.TryWrite(new Event { Changed = new MessageChanged { Message = message } });
                }

                seen = Math.Max(seen, message.RevisedAtMs);
            }

            if (!page.HasMore)
            {
                // All of them: up to the entry's latest is seen, even one this user may not see (nothing to ask again).
                seen = Math.Max(seen, changedAtMs);
            }

            lock (_delivered)
            {
                _changesSeen[conversationId] = Math.Max(seen, _changesSeen.GetValueOrDefault(conversationId));
            }

            if (!page.HasMore || page.Messages.Count == 0 || seen == before)
            {
                // Done; or a page that moved nothing on, which asking again would repeat.
                return;
            }
        }
    }

    private long ChangesSeen(string conversationId)
    {
        lock (_delivered)
        {
            return _changesSeen.GetValueOrDefault(conversationId);
        }
    }

    /// <summary>Pulls and delivers a conversation's messages after the last delivered, up to <paramref name="upToSeq"/>.</summary>
    private async Task FillAsync(string conversationId, long upToSeq)
    {
        while (Delivered(conversationId) < upToSeq)
        {
            var page = await PullAsync(conversationId, Delivered(conversationId), limit: _options.PullPageSize).ConfigureAwait(false);
            var progressed = SkipToHistoryStart(conversationId, page.HistoryStartsAfterSeq);
            foreach (var message in page.Messages)
            {
                if (message.Seq == Delivered(conversationId) + 1)
                {
                    Deliver(message);
                    progressed = true;
                }
            }

            DrainAhead(conversationId);
            if (!progressed)
            {
                return;
            }
        }
    }

    /// <summary>
    /// A group that keeps what was said before this user joined from them answers from where their history starts: there
    /// is nothing to deliver before it, so the conversation counts as delivered up to it. True when that moved it on.
    /// </summary>
    private bool SkipToHistoryStart(string conversationId, long historyStartsAfterSeq)
    {
        lock (_delivered)
        {
            if (historyStartsAfterSeq <= _delivered.GetValueOrDefault(conversationId))
            {
                return false;
            }

            _delivered[conversationId] = historyStartsAfterSeq;
            return true;
        }
    }

    private void DrainAhead(string conversationId)
    {
        if (!_ahead.TryGetValue(conversationId, out var ahead))
        {
            return;
        }

        foreach (var seq in ahead.Keys.ToList())
        {
            var delivered = Delivered(conversationId);
            if (seq <= delivered)
            {
                ahead.Remove(seq);
            }
            else if (seq == delivered + 1)
            {
                Deliver(ahead[seq]);
                ahead.Remove(seq);
            }
            else
            {
                break;
            }
        }

        if (ahead.Count == 0)
        {
            _ahead.Remove(conversationId);
        }
    }

    /// <summary>
    /// Where a conversation this device wrote to before its first sync starts: its own message moved the read position
    /// past what others said just before it, which this device never showed. Those pushed to it are new to it: those
    /// parked waiting for the sync, and those stored since its latest login (a page of them at most); older ones stay
    /// history, as read elsewhere.
    /// </summary>
    private async Task<long> StartBeforeOwnMessageAsync(string conversationId, long start)
    {
        if (_ahead.TryGetValue(conversationId, out var parked) && parked.Count > 0)
        {
            start = Math.Min(start, parked.Keys.Min() - 1);
        }

        if (start <= 0 || _loginServerTimeMs == 0)
        {
            return start;
        }

        PullResponse before;
        try
        {
            before = await PullAsync(conversationId, 0, beforeSeq: start + 1, limit: _options.PullPageSize).ConfigureAwait(false);
        }
        catch (ImClientException ex) when (ex.Error is { Retryable: false })
        {
            // Refused for good (as its fill will be): nothing to deliver from it either way.
            return start;
        }

        // A margin for the clocks of the edge (the login's time) and the silo (the messages'): erring towards delivering.
        var since = _loginServerTimeMs - (long)LoginClockMargin.TotalMilliseconds;
        for (var i = before.Messages.Count - 1; i >= 0 && before.Messages[i].ServerTimeMs >= since; i--)
        {
            start = before.Messages[i].Seq - 1;
        }

        return start;
    }

    /// <summary>How much earlier than the login's time a message may be stored and still count as pushed to this device.</summary>
    private static readonly TimeSpan LoginClockMargin = TimeSpan.FromSeconds(1);

    private void Deliver(Message message)
    {
        lock (_delivered)
        {
            _delivered[message.ConversationId] = message.Seq;
        }

        _messages.Writer.TryWrite(message);
    }

    private long Delivered(string conversationId)
    {
        lock (_delivered)
        {
            return _delivered.GetValueOrDefault(conversationId);
        }
    }
}
