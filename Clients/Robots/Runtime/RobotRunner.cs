using System.Collections.Concurrent;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Robots.SignIn;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Streams;

namespace Orleans.Im.Robots.Runtime;

/// <summary>
/// Runs a robot: signs in, comes online as a device of its user (so that its user stream is fed), hands every new
/// message to the handler, marks it read after, and catches up from its read positions on start and every
/// <see cref="RobotOptions.CatchUpInterval"/> (push is only a hint). When the cluster is unreachable it keeps retrying
/// with a growing delay and starts over (sign-in, device, subscription, catch-up) once it is back.
/// </summary>
internal sealed partial class RobotRunner : BackgroundService
{
    /// <summary>Messages pulled per call while catching up.</summary>
    private const int PullBatch = 50;

    /// <summary>A message whose handler threw this often is given up on (marked read) so that it cannot block the conversation.</summary>
    private const int MaxHandlerAttempts = 3;

    /// <summary>
    /// After a passing failure (<see cref="IsPassing"/>) a message is tried again no sooner than this, doubled at each
    /// failure in a row up to <see cref="MaxPassingRetryDelay"/>: a hint (another message of the conversation) does not
    /// bring it back at once, and the catch-up brings it back at the latest.
    /// </summary>
    private static readonly TimeSpan PassingRetryDelay = TimeSpan.FromMilliseconds(500);

    private static readonly TimeSpan MaxPassingRetryDelay = TimeSpan.FromMinutes(1);

    /// <summary>
    /// Passing failures of one message count as a row only while it is tried on schedule: a message not tried for this long
    /// past its due time (the robot was cut off from the cluster, or stopped) starts a new row, so that its first failure
    /// after a long outage is not taken for an hour of failures.
    /// </summary>
    private static readonly TimeSpan PassingRowBreak = MaxPassingRetryDelay * 5;

    /// <summary>A message is given up on for passing failures only after this many in a row, however long they took.</summary>
    private const int MinPassingAttempts = 3;

    /// <summary>
    /// A conversation's cursor with nothing pending for this long is dropped at the next catch-up (rebuilt from the read
    /// position on the next hint), so that a long-running robot does not keep one for every conversation it ever saw.
    /// </summary>
    private static readonly TimeSpan CursorIdleTimeout = TimeSpan.FromMinutes(10);

    /// <summary>How long a stopping robot waits for handlers in flight before it leaves.</summary>
    private static readonly TimeSpan DrainTimeout = TimeSpan.FromSeconds(10);

    /// <summary>The longest pause between renewals of the robot's device, a fraction of the cluster's lease (15 minutes by default).</summary>
    private static readonly TimeSpan MaxRenewalPeriod = TimeSpan.FromMinutes(5);

    /// <summary>How early a tick may come and still run the catch-up due.</summary>
    private static readonly TimeSpan CatchUpSlack = TimeSpan.FromMilliseconds(200);

    /// <summary>How long a connection id of this process is remembered as its own: past the device's lease (15 minutes by default), a registration under it has lapsed.</summary>
    private static readonly TimeSpan OwnConnectionMemory = TimeSpan.FromHours(1);

    /// <summary>How long each farewell call (disconnect, unsubscribe, end session) may take.</summary>
    private static readonly TimeSpan FarewellTimeout = TimeSpan.FromSeconds(5);

    private readonly IClusterClient _client;
    private readonly IRobotHandler _handler;
    private readonly RobotSignIn _signIn;
    private readonly SenderKinds _senders;
    private readonly RobotOptions _options;
    private readonly IHostApplicationLifetime _lifetime;
    private readonly TimeProvider _time;
    private readonly ILogger<RobotRunner> _logger;
    private readonly ConcurrentDictionary<string, ConversationCursor> _cursors = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _slots;

    /// <summary>
    /// The connection ids this process registered its device under, or tried to (see <see cref="RunSessionAsync"/>): one
    /// per session, each kept for <see cref="OwnConnectionMemory"/>.
    /// </summary>
    private readonly Dictionary<string, DateTimeOffset> _ownConnections = new(StringComparer.Ordinal);
    private CancellationToken _stopping;

    // Handlers' token: cancelled DrainTimeout after the stop, not at it, so that a graceful stop lets the handlers in
    // flight finish (their calls take the token, and one cancelled at the stop aborted them at once, to run again after
    // the restart with their side effects).
    private CancellationToken _handlersStopping;

    public RobotRunner(IClusterClient client, IRobotHandler handler, RobotSignIn signIn, SenderKinds senders, IOptions<RobotOptions> options,
        IHostApplicationLifetime lifetime, TimeProvider time, ILogger<RobotRunner> logger)
    {
        _client = client;
        _handler = handler;
        _signIn = signIn;
        _senders = senders;
        _options = options.Value;
        _lifetime = lifetime;
        _time = time;
        _logger = logger;
        _slots = new SemaphoreSlim(Math.Clamp(_options.MaxConcurrency, 1, RobotOptions.MaxConcurrencyLimit));
    }

    private string RobotId => _options.RobotId;

    private IUserGrain User => _client.GetGrain<IUserGrain>(RobotId);

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        _stopping = stoppingToken;
        using var handlersStop = new CancellationTokenSource(Timeout.InfiniteTimeSpan, _time);
        _handlersStopping = handlersStop.Token;
        using var drainBound = stoppingToken.Register(() => handlersStop.CancelAfter(DrainTimeout));
        if (!GrainKeys.IsValidUserId(RobotId))
        {
            LogBadRobotId(_logger, RobotId);
            Refuse();
            return;
        }

        var delay = _options.RetryDelay;
        string? sessionId = null;
        while (!stoppingToken.IsCancellationRequested)
        {
            try
            {
                // After cluster trouble the login session usually still lives: keep it rather than pile up new ones.
                if (sessionId is null || !await _client.GetGrain<IAccountGrain>(RobotId).IsSessionLiveAsync(sessionId))
                {
                    (var outcome, sessionId) = await _signIn.SignInAsync();
                    if (outcome != SignInOutcome.SignedIn)
                    {
                        LogSignInRefused(_logger, RobotId, outcome.ToString());
                        Refuse();
                        return;
                    }

                    LogSignedIn(_logger, RobotId, _options.DeviceId);
                }

                if (await RunSessionAsync(sessionId!, stoppingToken))
                {
                    // Replaced by another process: looping on (the host's stop may not have reached the token yet) would
                    // take the device back from it, and both would stop.
                    return;
                }

                delay = _options.RetryDelay;
            }
            catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
            {
                break;
            }
            catch (Exception ex) when (ex is not OperationCanceledException || !stoppingToken.IsCancellationRequested)
            {
                // The cluster is unreachable (all silos restarting, a network split) or a call timed out: start over.
                LogClusterTrouble(_logger, RobotId, ex.GetType().Name, ex.Message, delay);
                try
                {
                    await Task.Delay(delay, _time, stoppingToken);
                }
                catch (OperationCanceledException)
                {
                    break;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, _options.MaxRetryDelay.Ticks));
            }
        }
    }

    /// <summary>Stops the process with a failure exit code: a robot that may not sign in must not look healthy.</summary>
    private void Refuse()
    {
        Environment.ExitCode = 2;
        _lifetime.StopApplication();
    }

    /// <summary>
    /// One signed-in session: online until stopped, until the login session ends, or until a call fails. True when
    /// another process of this robot replaced this one (the process stops).
    /// </summary>
    private async Task<bool> RunSessionAsync(string sessionId, CancellationToken stoppingToken)
    {
        if (_ownConnections.Count > 0
            && (await User.GetDevicesAsync()).FirstOrDefault(d => d.DeviceId == _options.DeviceId) is { } current
            && !_ownConnections.ContainsKey(current.ConnectionId))
        {
            // A session after one that failed (a call timed out, the login session was ended): another process of this
            // robot took the device meanwhile (a rolling deploy). Connecting would take it back from that one, which would
            // then stop as replaced, leaving no robot once this process is stopped in turn. Not one of this process's own
            // connections: a registration whose answer was lost, and whose leave failed too, is still listed.
            LogReplaced(_logger, RobotId, _options.DeviceId);
            _lifetime.StopApplication();
            return true;
        }

        var replaced = false;
        var connectionId = Guid.NewGuid().ToString("N");
        // Under a lease, renewed below: a robot process that dies without going offline (killed, out of memory, its host
        // lost) lapses like a device whose edge went. Without one it stayed online for good, and a shop's queue went on
        // handing waiting customers to it, with no auto-reply text either.
        var device = new DeviceSession(_options.DeviceId, RobotRuntimeNames.Platform, RobotRuntimeNames.LocationPrefix + Environment.MachineName,
            _time.GetUtcNow(), connectionId, EdgeRenewsLease: true);
        var stream = _client.GetStreamProvider(StreamNames.Provider)
            .GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, RobotId));
        var subscription = await stream.SubscribeAsync((batch, _) =>
        {
            OnBatch(batch);
            return Task.CompletedTask;
        });
        try
        {
            // null: the robot takes its pushes from its user stream (subscribed above), not through an edge's observer.
            // Counted as this process's before the call: it may register although its answer is lost.
            var now = _time.GetUtcNow();
            foreach (var old in _ownConnections.Where(c => now - c.Value > OwnConnectionMemory).Select(c => c.Key).ToList())
            {
                _ownConnections.Remove(old);
            }

            _ownConnections[connectionId] = now;
            await User.ConnectDeviceAsync(device, null);
            LogOnline(_logger, RobotId);
            var version = await CatchUpAsync(0);
            var nextCatchUp = _time.GetUtcNow() + _options.CatchUpInterval - CatchUpSlack;
            // The device's lease (15 minutes by default) is renewed more often than it lapses whatever the catch-up
            // interval (up to an hour).
            var period = _options.CatchUpInterval < MaxRenewalPeriod ? _options.CatchUpInterval : MaxRenewalPeriod;
            using var timer = new PeriodicTimer(period, _time);
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var tickAt = _time.GetUtcNow();
                if (!await _client.GetGrain<IAccountGrain>(RobotId).IsSessionLiveAsync(sessionId))
                {
                    // Kicked, disabled or expired: sign in again (which refuses a disabled account).
                    LogSessionEnded(_logger, RobotId);
                    return false;
                }

                // Re-registers the device when the user grain was collected or moved with a silo, unless a newer connection
                // took its place: another process of this robot with the same device id, which replaces this one (taking
                // it back would make both handle every message, each taking the device from the other in turn).
                if (await User.RenewDeviceAsync(device, null) == DeviceRenewal.Superseded)
                {
                    LogReplaced(_logger, RobotId, _options.DeviceId);
                    replaced = true;
                    _lifetime.StopApplication();
                    return true;
                }

                // Timed from the ticks, with a little slack: a tick a little early (or a slow renewal before it) must not put
                // the catch-up off by a whole period.
                if (tickAt + CatchUpSlack >= nextCatchUp)
                {
                    nextCatchUp = tickAt + _options.CatchUpInterval;
                    version = await CatchUpAsync(version);
                }
            }

            return false;
        }
        finally
        {
            // Stopped or replaced: this process's login session ends with it (the replacing process signed in with its own).
            await LeaveAsync(subscription, device, stoppingToken.IsCancellationRequested || replaced ? sessionId : null);
        }
    }

    /// <summary>Waits for handlers in flight (bounded), then goes offline; every step is best effort.</summary>
    private async Task LeaveAsync(StreamSubscriptionHandle<UserEventBatch> subscription, DeviceSession device, string? endSessionId)
    {
        if (endSessionId is not null)
        {
            var running = Task.WhenAll(_cursors.Values.Select(c => c.Running));
            await Task.WhenAny(running, Task.Delay(DrainTimeout, _time));
        }

        await BestEffortAsync("disconnect", () => User.DisconnectDeviceAsync(device.DeviceId, device.ConnectionId));
        await BestEffortAsync("unsubscribe", subscription.UnsubscribeAsync);
        if (endSessionId is not null)
        {
            await BestEffortAsync("sign out", () => _client.GetGrain<IAccountGrain>(RobotId).EndSessionAsync(endSessionId));
            LogStopped(_logger, RobotId);
        }
    }

    private async Task BestEffortAsync(string step, Func<Task> call)
    {
        try
        {
            await call().WaitAsync(FarewellTimeout, _time);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            LogFarewellFailed(_logger, RobotId, step, ex.Message);
        }
    }

    /// <summary>Pushes are hints: each names a conversation that may have something new.</summary>
    private void OnBatch(UserEventBatch batch)
    {
        foreach (var userEvent in batch.Events)
        {
            switch (userEvent)
            {
                case MessageEvent { Message: { Class: not MessageClass.Instant, Seq: > 0 } message }:
                    Hint(message.ConversationId);
                    break;
                case ConversationUpdatedEvent { Entry.Removed: true } removed:
                    Forget(removed.ConversationId);
                    break;
                case ConversationUpdatedEvent updated when updated.Entry.LastSeq > updated.Entry.ReadSeq:
                    Hint(updated.ConversationId);
                    break;
            }
        }
    }

    /// <summary>Syncs the conversation list and schedules every conversation with something to handle.</summary>
    private async Task<long> CatchUpAsync(long sinceVersion)
    {
        var sync = await User.SyncAsync(sinceVersion);
        foreach (var (conversationId, cursor) in _cursors)
        {
            if (cursor.Stalled)
            {
                Hint(conversationId);
            }
            else if (cursor.TryRetire(CursorIdleTimeout))
            {
                _cursors.TryRemove(new KeyValuePair<string, ConversationCursor>(conversationId, cursor));
            }
        }

        foreach (var entry in sync.Changed)
        {
            if (entry.Removed)
            {
                Forget(entry.ConversationId);
            }
            else if (entry.LastSeq > entry.ReadSeq
                     || (_cursors.TryGetValue(entry.ConversationId, out var cursor) && cursor.HandledSeq < entry.LastSeq)
                     // At start, customer service: a session may have come back from an agent (see PumpAsync).
                     || (sinceVersion == 0 && entry.Kind == ConversationKind.CustomerService))
            {
                Hint(entry.ConversationId);
            }
        }

        return sync.Version;
    }

    /// <summary>
    /// Drops a conversation's cursor (the robot left it): retired, so that a pump running or scheduled on it stops, and a
    /// later hint makes a new one rather than run beside it.
    /// </summary>
    private void Forget(string conversationId)
    {
        if (_cursors.TryRemove(conversationId, out var cursor))
        {
            cursor.Retire();
        }
    }

    /// <summary>As <see cref="Forget(string)"/>, for this very cursor only (a newer one in its place stays).</summary>
    private void Forget(ConversationCursor cursor)
    {
        cursor.Retire();
        _cursors.TryRemove(new KeyValuePair<string, ConversationCursor>(cursor.ConversationId, cursor));
    }

    private void Hint(string conversationId)
    {
        if (_stopping.IsCancellationRequested || !GrainKeys.TryParseConversation(conversationId, out var address))
        {
            return;
        }

        // A cursor retired meanwhile takes no more runs: it leaves the map, and a new one starts from the read position.
        ConversationCursor cursor;
        while (!(cursor = _cursors.GetOrAdd(conversationId, _ => new ConversationCursor(address, _time))).Schedule(PumpAsync))
        {
            _cursors.TryRemove(new KeyValuePair<string, ConversationCursor>(conversationId, cursor));
        }
    }

    /// <summary>Handles what is new in one conversation, in seq order, marking each handled message read.</summary>
    private async Task PumpAsync(ConversationCursor cursor)
    {
        try
        {
            await _slots.WaitAsync(_stopping);
        }
        catch (OperationCanceledException)
        {
            return;
        }

        cursor.Stalled = true;
        try
        {
            if (cursor.HandledSeq is null && !await InitializeAsync(cursor))
            {
                Forget(cursor);
                return;
            }

            if (cursor.Address.Kind == ConversationKind.CustomerService)
            {
                // At every run, not only the first: a robot that lost a session to an agent and got it back may have
                // missed both pushes (they are hints; its device may have been away meanwhile), and then its cursor still
                // stands before the questions the agent answered in between.
                cursor.HandledSeq = await LastOthersAnswerAsync(cursor.ConversationId, cursor.HandledSeq!.Value);
            }

            var conversation = _client.GetGrain<IConversationGrain>(cursor.ConversationId);
            while (!_stopping.IsCancellationRequested && !cursor.Retired)
            {
                var pull = await conversation.PullAsync(RobotId, new PullRequest(AfterSeq: cursor.HandledSeq!.Value, Limit: PullBatch));
                if (pull.Status == AccessStatus.Unavailable)
                {
                    // Storage is down for now: the cursor stays, stalled, so the next catch-up pulls again. Dropped, the
                    // conversation would wait for its next change: the catch-up re-hints only what changed since its last
                    // sync, and this question may be unread and change no more.
                    LogPullUnavailable(_logger, RobotId, cursor.ConversationId);
                    return;
                }

                if (pull.Status != AccessStatus.Ok)
                {
                    // No longer a member (a customer-service session went to a human): nothing more to answer here.
                    Forget(cursor);
                    return;
                }

                foreach (var message in pull.Messages)
                {
                    if (_stopping.IsCancellationRequested || cursor.Retired)
                    {
                        return;
                    }

                    // Said before the robot (last) joined the group: history, not questions. A robot removed and added
                    // back while it missed both pushes still holds its cursor from before.
                    if (cursor.Passing.Seq == message.Seq && _time.GetUtcNow() < cursor.Passing.NotBefore)
                    {
                        // Its last attempt met a passing failure moments ago: stalled, for a later hint or the catch-up.
                        return;
                    }

                    if (message.Seq > pull.JoinedAfterSeq && await ShouldHandleAsync(cursor.Address, message) && !await HandleAsync(cursor, message))
                    {
                        return;
                    }

                    cursor.HandledSeq = message.Seq;
                }

                // The read position is the robot's word that everything up to it was handled: only the robot moves it past
                // its own replies (the user grain does not count a reply as read, see RobotReplyIds).
                if (cursor.HandledSeq > cursor.ReadSeq && !await MarkReadAsync(cursor, cursor.HandledSeq.Value))
                {
                    // Not stored: the cursor stays stalled, and the catch-up tries the mark again. Taken as done, a cursor
                    // retired later (or a restart) started from the old position and ran the handlers again.
                    return;
                }

                if (pull.Messages.Count < PullBatch)
                {
                    cursor.Stalled = false;
                    return;
                }
            }
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            // Stopping: what was not marked read is handled again after the restart (replies deduplicate).
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The cluster is unreachable or a call timed out; the next push or catch-up tries again from the cursor.
            LogPumpFailed(_logger, RobotId, cursor.ConversationId, ex.Message);
        }
        finally
        {
            _slots.Release();
        }
    }

    /// <summary>
    /// Where to start in a conversation: after the robot's read position, which only the robot moves past a message, once
    /// it is handled. Its replies do not move it (<see cref="RobotReplyIds"/>): before, they did, so a position at a reply
    /// could mean a handler that died after replying, and every new cursor (a restart, a new session, a conversation idle
    /// for a while) ran the handler for the question before it again — harmless to the replies, which deduplicate, not to
    /// a handler's other side effects. False when the robot is not in the conversation.
    /// </summary>
    private async Task<bool> InitializeAsync(ConversationCursor cursor)
    {
        var entry = await User.GetConversationAsync(cursor.ConversationId);
        if (entry is null)
        {
            return false;
        }

        cursor.ReadSeq = entry.ReadSeq;
        cursor.HandledSeq = entry.ReadSeq;
        return true;
    }

    /// <summary>
    /// Customer service: the seq of the latest answer written by someone else (an agent) after <paramref name="start"/>,
    /// else <paramref name="start"/>. A session the robot takes over (its last agent went offline) comes with a read
    /// position at the session's first message, or at the robot's own position from an earlier cover, and a cursor the
    /// robot kept may stand where it left the session: the customer's messages an agent answered since are no questions
    /// any more, while those after the latest answer still wait for one. The shop's notices (no acting sender) answer
    /// nothing. Scans back from the log's head, a page at a time; usually one pull, of the messages the run handles next.
    /// </summary>
    private async Task<long> LastOthersAnswerAsync(string conversationId, long start)
    {
        var conversation = _client.GetGrain<IConversationGrain>(conversationId);
        var before = long.MaxValue;
        while (true)
        {
            var page = await conversation.PullAsync(RobotId, new PullRequest(AfterSeq: start, BeforeSeq: before, Limit: PullBatch));
            if (page.Status != AccessStatus.Ok || page.Messages.Count == 0)
            {
                // Not readable now: the pump's own pull finds out and decides.
                return start;
            }

            for (var i = page.Messages.Count - 1; i >= 0; i--)
            {
                if (page.Messages[i] is { ActingSenderId.Length: > 0 } answer && !IsOwn(answer))
                {
                    return answer.Seq;
                }
            }

            if (page.Messages.Count < PullBatch)
            {
                return start;
            }

            before = page.Messages[0].Seq;
        }
    }

    /// <summary>
    /// Persistent messages with content, from someone else who is a person (or a robot, when allowed). A group's notices
    /// ("alice added the robot") are sent as the member who made the change, but are nobody's question.
    /// </summary>
    private async Task<bool> ShouldHandleAsync(ConversationAddress address, ChatMessage message)
    {
        if (message.Class != MessageClass.Persistent || message.Content is null
            || message.State is MessageState.Recalled or MessageState.Deleted or MessageState.Collapsed
            || IsOwn(message) || GroupNotices.Is(message.Content))
        {
            return false;
        }

        // Customer service: only the customer's messages; the shop's notices and other agents' replies are not questions.
        if (address.Kind == ConversationKind.CustomerService && message.SenderId != address.Second)
        {
            return false;
        }

        return _options.ReplyToRobots || !await _senders.IsProgramAsync(message.SenderId);
    }

    private bool IsOwn(ChatMessage message) => message.SenderId == RobotId || message.ActingSenderId == RobotId;

    /// <summary>Calls the handler, then marks the message read. False when the conversation must stop here for now.</summary>
    private async Task<bool> HandleAsync(ConversationCursor cursor, ChatMessage message)
    {
        try
        {
            // One timer for both: the handler's token is cancelled, then the wait gives up on it. (A second timer for the
            // wait could fire first and dispose this one unfired, leaving an abandoned handler's token never cancelled.)
            using var timeout = new CancellationTokenSource(_options.HandlerTimeout, _time);
            using var token = CancellationTokenSource.CreateLinkedTokenSource(_handlersStopping, timeout.Token);
            await _handler.HandleAsync(new RobotMessage(_client, RobotId, _options.DeviceId, cursor.Address, message), token.Token)
                .WaitAsync(token.Token);
            cursor.Failures = default;
            cursor.Passing = default;
            LogHandled(_logger, RobotId, cursor.ConversationId, message.Seq);
        }
        catch (OperationCanceledException) when (_stopping.IsCancellationRequested)
        {
            return false;
        }
        catch (Exception ex) when (IsPassing(ex) && !WaitedTooLong(cursor, message.Seq))
        {
            // Storage failing over, a silo going: the question is still to be answered, for a while. Given up on at once, it
            // would be marked read and the asker never answered.
            var now = _time.GetUtcNow();
            var (attempts, since) = InPassingRow(cursor, message.Seq, now) ? (cursor.Passing.Attempts + 1, cursor.Passing.Since) : (1, now);
            var delay = PassingRetryDelay * Math.Pow(2, Math.Min(attempts - 1, 16));
            cursor.Passing = (message.Seq, attempts, since, now + (delay < MaxPassingRetryDelay ? delay : MaxPassingRetryDelay));
            LogHandlerWillRetry(_logger, RobotId, cursor.ConversationId, message.Seq, attempts, ex.Message);
            return false;
        }
        catch (Exception ex) when (IsPassing(ex))
        {
            // Failing for a passing reason since longer than GiveUpWaitingAfter: the answer would come too late to help, and
            // waiting on would hold every later message of the conversation (a handler that always times out on this one).
            LogGaveUpWaiting(_logger, RobotId, cursor.ConversationId, message.Seq, cursor.Passing.Attempts + 1, _time.GetUtcNow() - cursor.Passing.Since, ex);
            cursor.Passing = default;
            cursor.Failures = default;
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // A failure of the handler's own breaks a row of passing ones.
            cursor.Passing = default;
            var attempts = cursor.Failures.Seq == message.Seq ? cursor.Failures.Attempts + 1 : 1;
            cursor.Failures = (message.Seq, attempts);
            if (attempts < MaxHandlerAttempts)
            {
                LogHandlerFailed(_logger, RobotId, cursor.ConversationId, message.Seq, attempts, ex);
                return false;
            }

            LogGaveUp(_logger, RobotId, cursor.ConversationId, message.Seq, attempts, ex);
            cursor.Failures = default;
        }

        try
        {
            await MarkReadAsync(cursor, message.Seq);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Handled all the same: the pump moves past it, and its mark at the end of the batch (or the next one's) says
            // so. Thrown from here, the cursor stayed before it and the next hint ran the handler again.
            LogMarkReadFailed(_logger, RobotId, cursor.ConversationId, message.Seq, ex.Message);
        }

        return true;
    }

    /// <summary>
    /// Whether <paramref name="seq"/>, failing once more now, has met passing failures in a row for longer than the robot
    /// waits, and at least <see cref="MinPassingAttempts"/> times.
    /// </summary>
    private bool WaitedTooLong(ConversationCursor cursor, long seq)
    {
        var now = _time.GetUtcNow();
        return InPassingRow(cursor, seq, now) && cursor.Passing.Attempts + 1 >= MinPassingAttempts
            && now - cursor.Passing.Since >= _options.GiveUpWaitingAfter;
    }

    /// <summary>
    /// Whether a passing failure of <paramref name="seq"/> now continues the cursor's row (see <see cref="PassingRowBreak"/>);
    /// the attempt itself may have taken up to the handler's timeout since it was due.
    /// </summary>
    private bool InPassingRow(ConversationCursor cursor, long seq, DateTimeOffset now) =>
        cursor.Passing.Seq == seq && cursor.Passing.Attempts > 0 && now - cursor.Passing.NotBefore < PassingRowBreak + _options.HandlerTimeout;

    /// <summary>
    /// A failure that says nothing about the message: a reply refused for a passing reason, or the cluster not answering.
    /// A handler's own exceptions (a bug, a question it cannot take) are not: those give up after a few attempts.
    /// </summary>
    /// <remarks>
    /// A handler's own timeouts are passing too (README): <c>HttpClient</c>'s throws a <see cref="TaskCanceledException"/>,
    /// a token of its own a plain <see cref="OperationCanceledException"/> (the robot's stop is caught before this).
    /// </remarks>
    private static bool IsPassing(Exception ex) =>
        ex is RobotReplyNotStoredException or TimeoutException or SiloUnavailableException or OrleansMessageRejectionException or OperationCanceledException;

    /// <summary>
    /// Marks the conversation read up to <paramref name="seq"/>: false, and logged, when storage did not take it (the user
    /// grain answers Unavailable rather than throwing), which the caller must not take as marked: the read position is the
    /// robot's only record of what it handled across restarts.
    /// </summary>
    private async Task<bool> MarkReadAsync(ConversationCursor cursor, long seq)
    {
        var result = await User.MarkReadAsync(cursor.ConversationId, seq);
        if (result.Entry is { } entry)
        {
            cursor.ReadSeq = Math.Max(cursor.ReadSeq, entry.ReadSeq);
        }

        if (result.Status == AccessStatus.Unavailable)
        {
            LogMarkReadFailed(_logger, RobotId, cursor.ConversationId, seq, "storage did not take it");
            return false;
        }

        return true;
    }

    [LoggerMessage(1, LogLevel.Information, "Robot {RobotId} signed in (device {DeviceId})")]
    private static partial void LogSignedIn(ILogger logger, string robotId, string deviceId);

    [LoggerMessage(2, LogLevel.Error, "Robot {RobotId} may not sign in: {Outcome}")]
    private static partial void LogSignInRefused(ILogger logger, string robotId, string outcome);

    [LoggerMessage(3, LogLevel.Error, "'{RobotId}' is not a valid robot id (set IM:Robot:RobotId)")]
    private static partial void LogBadRobotId(ILogger logger, string robotId);

    [LoggerMessage(4, LogLevel.Warning, "Robot {RobotId}: cluster trouble ({Kind}: {Reason}); starting over in {Delay}")]
    private static partial void LogClusterTrouble(ILogger logger, string robotId, string kind, string reason, TimeSpan delay);

    [LoggerMessage(5, LogLevel.Information, "Robot {RobotId} is online")]
    private static partial void LogOnline(ILogger logger, string robotId);

    [LoggerMessage(6, LogLevel.Warning, "Robot {RobotId}: login session ended (kicked, disabled or expired); signing in again")]
    private static partial void LogSessionEnded(ILogger logger, string robotId);

    [LoggerMessage(7, LogLevel.Information, "Robot {RobotId} stopped")]
    private static partial void LogStopped(ILogger logger, string robotId);

    [LoggerMessage(8, LogLevel.Warning, "Robot {RobotId}: {Step} failed while leaving: {Reason}")]
    private static partial void LogFarewellFailed(ILogger logger, string robotId, string step, string reason);

    [LoggerMessage(9, LogLevel.Warning, "Robot {RobotId}: conversation {ConversationId} not caught up: {Reason}")]
    private static partial void LogPumpFailed(ILogger logger, string robotId, string conversationId, string reason);

    [LoggerMessage(10, LogLevel.Debug, "Robot {RobotId} handled {ConversationId}#{Seq}")]
    private static partial void LogHandled(ILogger logger, string robotId, string conversationId, long seq);

    [LoggerMessage(11, LogLevel.Warning, "Robot {RobotId}: handler failed on {ConversationId}#{Seq} (attempt {Attempts}); will retry")]
    private static partial void LogHandlerFailed(ILogger logger, string robotId, string conversationId, long seq, int attempts, Exception exception);

    [LoggerMessage(12, LogLevel.Error, "Robot {RobotId}: handler failed on {ConversationId}#{Seq} {Attempts} times; skipping it")]
    private static partial void LogGaveUp(ILogger logger, string robotId, string conversationId, long seq, int attempts, Exception exception);

    [LoggerMessage(14, LogLevel.Warning, "Robot {RobotId}: {ConversationId}#{Seq} not answered for now (attempt {Attempts}: {Reason}); tried again later")]
    private static partial void LogHandlerWillRetry(ILogger logger, string robotId, string conversationId, long seq, int attempts, string reason);

    [LoggerMessage(15, LogLevel.Warning, "Robot {RobotId}: another process signed in as device {DeviceId} and replaced this one; stopping")]
    private static partial void LogReplaced(ILogger logger, string robotId, string deviceId);

    [LoggerMessage(13, LogLevel.Warning, "Robot {RobotId}: storage unavailable pulling {ConversationId}; tried again at the next catch-up")]
    private static partial void LogPullUnavailable(ILogger logger, string robotId, string conversationId);

    [LoggerMessage(17, LogLevel.Error, "Robot {RobotId}: {ConversationId}#{Seq} still not answered after {Attempts} attempts over {Waited}; skipping it")]
    private static partial void LogGaveUpWaiting(ILogger logger, string robotId, string conversationId, long seq, int attempts, TimeSpan waited, Exception exception);

    [LoggerMessage(16, LogLevel.Warning, "Robot {RobotId}: {ConversationId}#{Seq} handled but not marked read ({Reason}); marked with the next")]
    private static partial void LogMarkReadFailed(ILogger logger, string robotId, string conversationId, long seq, string reason);
}
