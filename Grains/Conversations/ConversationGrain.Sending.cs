using Orleans.Im.Messages;
using Orleans.Im.Storage;

namespace Orleans.Im.Conversations;

// Sending: each request is admitted on its own (membership, validation, dedup, rate), then the admitted messages of one
// call are appended as one run of the log: one commit for all of them, so that a busy conversation is not held to one
// commit per message (edges coalesce a conversation's sends while one of its calls is under way).
public sealed partial class ConversationGrain
{
    /// <summary>Appends of a run before what is left of it is refused as unavailable: a stale head, a duplicate inside the run.</summary>
    private const int MaxAppendAttempts = 3;

    public async Task<SendResult> SendAsync(SendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        return (await SendManyAsync([request]))[0];
    }

    public async Task<SendResult[]> SendManyAsync(SendRequest[] requests)
    {
        ArgumentNullException.ThrowIfNull(requests);
        if (requests.Length > MessageLimits.MaxSendsPerCall)
        {
            return [.. requests.Select(_ => SendResult.Refused(SendStatus.Invalid, $"at most {MessageLimits.MaxSendsPerCall} messages per call"))];
        }

        if (!state.State.Initialized && _address?.Kind == ConversationKind.CustomerService && await IsShopAsync(_address.First) is not true)
        {
            // Before anything is stored or anyone's list touched: cs:{x}:{user} with an x that is no shop would put "x"
            // into the user's list as a shop (past the user's blocks), and start a queue for it.
            var refusal = _isShop is null
                ? SendResult.Refused(SendStatus.Unavailable, "the shop could not be checked; retry with the same clientMsgId")
                : SendResult.Refused(SendStatus.NoAccess, "no such shop");
            return [.. requests.Select(_ => refusal)];
        }

        if (_headInDoubt || RepliesAheadOfHead(requests))
        {
            try
            {
                // Before admission: a retry of the message whose answer was lost is then answered from the dedup cache,
                // and a reply to a message this activation has not seen yet (stored by the one before it, across a
                // failover) finds it there.
                await ReloadHeadAsync();
            }
            catch (Exception ex) when (StorageFailures.IsTransient(ex))
            {
                LogStorageUnavailable(logger, ConversationId, ex.Message);
                return [.. requests.Select(_ => SendResult.Refused(SendStatus.Unavailable, "storage unavailable; retry with the same clientMsgId"))];
            }
        }

        if (state.State.PendingNotices.Count > 0)
        {
            // A change's notice that could not be posted yet goes before the messages sent after the change.
            await PostPendingNoticesAsync();
        }

        // Still waiting (the log refused it just now): a stored message now would come before it. Instant ones are not
        // in the log, so they go.
        var noticesWaiting = state.State.PendingNotices.Count > 0;

        var now = clock.UtcNow;
        var results = new SendResult?[requests.Length];
        var appends = new List<AdmittedSend>();
        var instants = new List<AdmittedSend>();
        Dictionary<(string, string), int>? firstInCall = null;
        List<(int Index, int FirstIndex)>? repeats = null;
        for (var i = 0; i < requests.Length; i++)
        {
            var (refusal, admitted) = Admit(requests[i], now);
            if (admitted is not { } send)
            {
                results[i] = refusal;
            }
            else if (noticesWaiting && send.Request.Class != MessageClass.Instant)
            {
                results[i] = SendResult.Refused(SendStatus.Unavailable, "storage unavailable; retry with the same clientMsgId");
            }
            else if (send.Request.Class == MessageClass.Instant)
            {
                instants.Add(send with { Index = i });
            }
            else if ((firstInCall ??= []).TryAdd((send.Request.SenderId, send.Request.ClientMsgId), i))
            {
                appends.Add(send with { Index = i });
            }
            else
            {
                // The same message twice in one call (a client's retry caught up with the original): one copy is stored.
                (repeats ??= []).Add((i, firstInCall[(send.Request.SenderId, send.Request.ClientMsgId)]));
            }
        }

        if (appends.Count > 0 || instants.Count > 0)
        {
            try
            {
                await EnsureInitializedAsync();
                foreach (var instant in instants)
                {
                    results[instant.Index] = CallSignal.Is(instant.Request.Content)
                        ? await SendCallSignalAsync(instant.Request, now)
                        : SendInstant(instant.Request, now, instant.Acting);
                }

                if (appends.Count > 0)
                {
                    await LeaveOutMentionedWhoBlockAsync(appends);
                    await AppendRunAsync(appends, now, results);
                }
            }
            catch (Exception ex) when (StorageFailures.IsTransient(ex))
            {
                LogStorageUnavailable(logger, ConversationId, ex.Message);
                // The commit may have succeeded all the same (its answer lost): the head is reloaded before the next send.
                _headInDoubt |= appends.Count > 0;
                for (var i = 0; i < results.Length; i++)
                {
                    results[i] ??= SendResult.Refused(SendStatus.Unavailable, "storage unavailable; retry with the same clientMsgId");
                }
            }
        }

        foreach (var (index, first) in repeats ?? [])
        {
            results[index] = results[first] is { IsAccepted: true } stored ? stored with { Status = SendStatus.Duplicate } : results[first];
        }

        return [.. results.Select(r => r!)];
    }

    /// <summary>A request's checks before it is sent: a refusal (or an answer without sending), or the request to send.</summary>
    private (SendResult? Refusal, AdmittedSend? Admitted) Admit(SendRequest request, DateTimeOffset now)
    {
        ArgumentNullException.ThrowIfNull(request);
        if (!IsMember(request.SenderId))
        {
            return (SendResult.Refused(SendStatus.NoAccess, "no such conversation"), null);
        }

        if (IsPublicAccount && !IsBroadcaster(request.SenderId))
        {
            // Subscribers read; they write to the account one-to-one (p2p with the account's id).
            return (SendResult.Refused(SendStatus.NoAccess, "only the account's operators broadcast; message the account one-to-one"), null);
        }

        // A retry of a message stored already is answered as such before any check that may have changed since (the peer
        // blocked the sender, a mentioned member left): its ack was lost, the message is there, and the others have it.
        // Keyed as it was stored: an agent's or operator's under the shop's or account's id.
        var storedAs = (ActingAgentFor(request.SenderId) ?? ActingOperatorFor(request.SenderId)) is not null ? _address!.First : request.SenderId;
        if (request.Class != MessageClass.Instant && !string.IsNullOrEmpty(request.ClientMsgId)
            && _clientMsgIds.TryGet(storedAs, request.ClientMsgId, out var stored))
        {
            return (new SendResult(SendStatus.Duplicate, stored.Seq, stored.Time), null);
        }

        if (state.State.DissolvedAt is not null)
        {
            // Read-only since its owner dissolved it (its own notice is posted past this check). After the retry check: a
            // message stored before it was dissolved is still answered as stored.
            return (SendResult.Refused(SendStatus.NoAccess, "the group was dissolved"), null);
        }

        if (_address!.Kind == ConversationKind.P2P && state.State.BlockedBy.Contains(PeerOf(request.SenderId)))
        {
            return (SendResult.Refused(SendStatus.Blocked, "the recipient does not accept your messages"), null);
        }

        if (!Enum.IsDefined(request.Class))
        {
            // JSON and protobuf both carry the class as a number: one this server does not know would be stored (and
            // wrapped to a smallint) and delivered as who knows what.
            return (SendResult.Refused(SendStatus.Invalid, "unknown message class"), null);
        }

        if (string.IsNullOrEmpty(request.ClientMsgId) || request.ClientMsgId.Length > MessageLimits.MaxClientMsgIdLength
            || !StorableText.IsStorable(request.ClientMsgId))
        {
            return (SendResult.Refused(SendStatus.Invalid, $"clientMsgId must be 1-{MessageLimits.MaxClientMsgIdLength} characters, with no NUL"), null);
        }

        if (request.CollapseKey is { Length: > MessageLimits.MaxCollapseKeyLength }
            || (request.CollapseKey is not null && request.Class != MessageClass.Notification)
            || !StorableText.IsStorable(request.CollapseKey))
        {
            return (SendResult.Refused(SendStatus.Invalid, "a collapse key is for notifications, at most " + MessageLimits.MaxCollapseKeyLength + " characters"), null);
        }

        // Customer service: an agent writes as the shop; official accounts: an operator broadcasts as the account. Who
        // really wrote it is kept beside the message.
        var acting = ActingAgentFor(request.SenderId) ?? ActingOperatorFor(request.SenderId);
        if (acting is not null)
        {
            request = request with { SenderId = _address.First };
        }

        if (MessageValidator.Validate(request.Content) is { } refusal)
        {
            return (SendResult.Refused(refusal.Status, refusal.Error), null);
        }

        if (request.Content!.ReplyToSeq > _lastSeq)
        {
            // Only a message already stored can be answered: a client cannot know a seq before its ack, and a reply to a
            // seq not taken yet would quote whatever comes there later.
            return (SendResult.Refused(SendStatus.Invalid, "a reply names a message already in the conversation"), null);
        }

        if (request.Content.ReplyToSeq is { } replyTo && !InHistoryOf(request.SenderId, replyTo))
        {
            // Said before the sender joined a group that keeps its history from new members: not theirs to quote.
            return (SendResult.Refused(SendStatus.Invalid, "a reply names a message the sender can read"), null);
        }

        if ((ValidateInstant(request) ?? ValidateMentions(request, acting)) is { } invalid)
        {
            return (invalid, null);
        }

        request = request with { Mentions = NormalizeMentions(request.Mentions) };

        if (TypingIndicator.Is(request.Content) && !ShouldForwardTyping(request.SenderId, now))
        {
            // Throttled, not refused: a client may send one per keystroke; the others already show "typing".
            return (new SendResult(SendStatus.Sent, 0, now), null);
        }

        return RateLimiterFor(request.SenderId, now).TryAcquire(now)
            ? (null, new AdmittedSend(0, request, acting))
            : (SendResult.Refused(SendStatus.RateLimited, "sending too fast"), null);
    }

    /// <summary>
    /// Whether a reply names a seq just past the head this activation knows: the log may hold it (an activation that ran
    /// beside this one for a moment during a failover stored it, and its sender got the seq), so the head is read again
    /// before such a reply is refused — at most once a second, since a client naming seqs that do not exist would
    /// otherwise make every send a read of the log.
    /// </summary>
    private bool RepliesAheadOfHead(SendRequest[] requests)
    {
        var now = clock.UtcNow;
        if (now - _headCheckedForReply < ReplyHeadCheckInterval
            || !requests.Any(r => r.Content?.ReplyToSeq is { } replyTo && replyTo > _lastSeq && replyTo <= _lastSeq + MaxReplyAheadOfHead))
        {
            return false;
        }

        _headCheckedForReply = now;
        return true;
    }

    /// <summary>
    /// Appends <paramref name="sends"/> as one run under the next seqs, in order, and fills in their results. A run is
    /// stored whole or not at all, so a stale head (seq taken) or a duplicate the cache did not know of sends what is
    /// left of it again, under fresh seqs.
    /// </summary>
    private async Task AppendRunAsync(List<AdmittedSend> sends, DateTimeOffset now, SendResult?[] results)
    {
        var pending = sends;
        for (var attempt = 0; attempt < MaxAppendAttempts && pending.Count > 0; attempt++)
        {
            if (attempt > 0)
            {
                // A reloaded head may hold some of them already: those are answered as duplicates, not appended again.
                pending = pending.Where(send => !AnsweredAsDuplicate(send, results)).ToList();
            }

            // Server time never goes back within a conversation, even if the clock does.
            var time = _recent.Last is { } last && last.ServerTime > now ? last.ServerTime : now;
            var run = new ChatMessage[pending.Count];
            for (var k = 0; k < run.Length; k++)
            {
                var (_, request, acting) = pending[k];
                run[k] = new ChatMessage(ConversationId, _lastSeq + 1 + k, request.SenderId, request.SenderDeviceId,
                    request.ClientMsgId, request.Class, request.Content, time, CollapseKey: request.CollapseKey,
                    ActingSenderId: acting?.AgentId, SenderName: acting?.Name, Mentions: request.Mentions);
            }

            if (run.Length == 0)
            {
                return;
            }

            var outcomes = await log.AppendRunAsync(run);
            var again = new List<AdmittedSend>();
            var stale = false;
            for (var k = 0; k < run.Length; k++)
            {
                var send = pending[k];
                var outcome = outcomes[k];
                switch (outcome.Status)
                {
                    case AppendStatus.Appended:
                        Accept(run[k]);
                        results[send.Index] = new SendResult(SendStatus.Sent, run[k].Seq, run[k].ServerTime);
                        OnCustomerServiceAppended(send.Request.SenderId, send.Acting, run[k].Seq);
                        break;
                    case AppendStatus.Duplicate:
                        _clientMsgIds.Remember(send.Request.SenderId, send.Request.ClientMsgId, outcome.Seq, outcome.ServerTime);
                        results[send.Index] = new SendResult(SendStatus.Duplicate, outcome.Seq, outcome.ServerTime);
                        // Stored beyond our head: an earlier try committed but its answer was lost, so nobody was told.
                        stale |= outcome.Seq > _lastSeq;
                        break;
                    case AppendStatus.NotStored:
                        again.Add(send);
                        break;
                    case AppendStatus.Rejected:
                        // A value the database cannot store that admission let through: a retry fails the same way.
                        LogAppendRejected(logger, ConversationId, send.Request.SenderId, send.Request.ClientMsgId);
                        results[send.Index] = SendResult.Refused(SendStatus.Invalid, "the message holds a value storage refuses");
                        break;
                    case AppendStatus.SeqTaken:
                    default:
                        // Our head is stale (a commit whose ack was lost, or another activation wrote): reload and retry.
                        again.Add(send);
                        stale = true;
                        break;
                }
            }

            if (stale)
            {
                LogSeqTaken(logger, ConversationId, run[0].Seq);
                await ReloadHeadAsync();
            }

            pending = again;
        }

        foreach (var send in pending)
        {
            results[send.Index] = SendResult.Refused(SendStatus.Unavailable, "the log head moved; retry with the same clientMsgId");
        }
    }

    private bool AnsweredAsDuplicate(AdmittedSend send, SendResult?[] results)
    {
        if (!_clientMsgIds.TryGet(send.Request.SenderId, send.Request.ClientMsgId, out var stored))
        {
            return false;
        }

        results[send.Index] = new SendResult(SendStatus.Duplicate, stored.Seq, stored.Time);
        return true;
    }

    /// <summary>
    /// A member who blocks the sender is not mentioned by them (a mention flags the list and notifies even when muted):
    /// the block holds in groups the two share. Asked only for messages that name members; "@all" is an admin's notice.
    /// When the blocklists cannot be asked, the mentions stand (a mention is not a message the member would not get).
    /// </summary>
    private async Task LeaveOutMentionedWhoBlockAsync(List<AdmittedSend> appends)
    {
        for (var i = 0; i < appends.Count; i++)
        {
            var request = appends[i].Request;
            if (request.Mentions is not { Count: > 0 } mentions || mentions.Contains(MentionList.All)
                || await BlockingAsync(request.SenderId, mentions) is not { Count: > 0 } blocking)
            {
                continue;
            }

            var kept = mentions.Where(m => !blocking.Contains(m)).ToArray();
            appends[i] = appends[i] with { Request = request with { Mentions = kept.Length > 0 ? kept : null } };
        }
    }

    /// <summary>A request that passed admission: where its result goes, the request as it is stored, and who really wrote it.</summary>
    private readonly record struct AdmittedSend(int Index, SendRequest Request, ActingAgent? Acting);
}
