using System.Net;
using System.Threading.Channels;
using Orleans.Im.Client;
using Orleans.Im.Protocol.V1;
using Spectre.Console;

namespace Orleans.Im.AgentConsole;

/// <summary>
/// The console's loop: keys on this thread, pushed messages and events on background pumps, the agent view asked for
/// every few seconds and after every change, and a redraw whenever the state is dirty. A dropped connection is
/// re-established by the SDK (or, once it gives up, here); after each new connection the view is reloaded, so nothing
/// on screen goes stale (the availability is not asserted again: the queue keeps it). The key loop never waits for the network:
/// every call a key starts runs in the background and tells its outcome on the status line, so the console keeps
/// drawing and can be quit while the connection is down. Replies leave through one ordered queue, so a conversation's
/// replies reach the SDK in the order they were typed.
/// </summary>
public sealed class AgentApp : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long a reply waits for its ack before it is given back to the agent to send again. The SDK would hold it
    /// through a reconnect for as long as it keeps trying (many minutes); the agent hears sooner.
    /// </summary>
    private static readonly TimeSpan DefaultSendTimeout = TimeSpan.FromSeconds(20);

    private readonly ImClient _client;
    private readonly ConsoleState _state;
    private readonly ConsoleOptions _options;
    private readonly CancellationTokenSource _stop = new();

    /// <summary>Replies in the order Enter was pressed; one reader hands them to the SDK (<see cref="SendRepliesAsync"/>).</summary>
    private readonly Channel<(UnsentReply Reply, string UserId)> _replies =
        Channel.CreateUnbounded<(UnsentReply Reply, string UserId)>(new UnboundedChannelOptions { SingleReader = true, SingleWriter = true });

    private readonly ReconnectBackoff _reconnectBackoff = new(Random.Shared);
    private int _seenConnections;
    private DateTimeOffset _nextPoll = DateTimeOffset.MinValue;
    private DateTimeOffset _nextReconnect = DateTimeOffset.MinValue;

    /// <summary>Set when the sign-in was refused (401): signing in again with the same password cannot help.</summary>
    private volatile bool _signInRefused;

    /// <summary>Signed out by the server, the agent pressed Ctrl+R to sign in again (until a connection opens).</summary>
    private volatile bool _signInAgainAsked;
    private bool _toldSignedOut;

    private Task _background = Task.CompletedTask;

    public AgentApp(ImClient client, ConsoleState state, ConsoleOptions options)
    {
        _client = client;
        _state = state;
        _options = options;
        SendReply = reply => _client.SendTextAsync(reply.ConversationId, reply.Text, reply.ClientMsgId);
        var stopping = _stop.Token;
        _ = Task.Run(() => SendRepliesAsync(stopping));
    }

    /// <summary>Hands a reply to the SDK, returning its ack; a seam for the tests (the SDK's send by default).</summary>
    internal Func<UnsentReply, Task<SendAck>> SendReply { get; init; }

    /// <summary>Takes the password the agent typed after a refused sign-in for the next one (<see cref="SignIn.UsePassword"/>).</summary>
    internal Action<string> UsePassword { get; init; } = _ => { };

    /// <summary>How long a reply waits for its ack before it is given back to the agent to send again.</summary>
    internal TimeSpan SendTimeout { get; init; } = DefaultSendTimeout;

    /// <summary>The clock of the reconnect pauses; a seam for the tests.</summary>
    internal TimeProvider Clock { get; init; } = TimeProvider.System;

    /// <summary>What <see cref="KeepUpAsync"/> started last (a reconnect, a view refresh), for the tests to wait on.</summary>
    internal Task Housekeeping => _background;

    public async Task RunAsync()
    {
        _ = Task.Run(() => PumpMessagesAsync(_stop.Token));
        _ = Task.Run(() => PumpEventsAsync(_stop.Token));
        Console.TreatControlCAsInput = true;
        var size = (Console.WindowWidth, Console.WindowHeight);
        await AnsiConsole.Live(ConsoleScreen.Render(_state))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .Cropping(VerticalOverflowCropping.Top)
            .StartAsync(async live =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    while (Console.KeyAvailable)
                    {
                        var key = Console.ReadKey(intercept: true);
                        // A paste arrives as keys all waiting at once; a key typed by hand, alone.
                        OnKey(key, moreKeysWaiting: Console.KeyAvailable);
                    }

                    await KeepUpAsync();
                    lock (_state.Sync)
                    {
                        // The layout is cut to the terminal's size: a resized terminal is drawn again.
                        var now = (Console.WindowWidth, Console.WindowHeight);
                        if (_state.Dirty || now != size)
                        {
                            _state.Dirty = false;
                            size = now;
                            live.UpdateTarget(ConsoleScreen.Render(_state));
                        }
                    }

                    await Task.Delay(Tick);
                }
            });
    }

    /// <summary>
    /// Reconnects when the SDK gave up, pausing longer after each failure (<see cref="ReconnectBackoff"/>) and not at
    /// all after a refused sign-in; reloads the view after a new connection; polls the view.
    /// </summary>
    internal async Task KeepUpAsync()
    {
        lock (_state.Sync)
        {
            if (_state.Connection != _client.Status)
            {
                _state.Connection = _client.Status;
                _state.Dirty = true;
            }
        }

        if (!_background.IsCompleted)
        {
            return;
        }

        if (_client.Status is ImClientStatus.WaitingForReconnect or ImClientStatus.Disconnected)
        {
            if (_signInRefused)
            {
                return;
            }

            if (_client.SignedOut && !_signInAgainAsked)
            {
                // Kicked (this agent signed in elsewhere with this device id, an operator ended the session): signing in
                // again by itself would take the device back, and two consoles would throw each other out for ever.
                if (!_toldSignedOut)
                {
                    _toldSignedOut = true;
                    SetStatus($"{_client.StopReason}; not signing in again by itself: press Ctrl+R to sign in again");
                }

                return;
            }

            if (Clock.GetUtcNow() >= _nextReconnect)
            {
                _background = Task.Run(ReconnectAsync);
            }

            return;
        }

        if (_client.Status != ImClientStatus.Connected)
        {
            return;
        }

        _reconnectBackoff.Reset();
        _signInAgainAsked = false;
        _toldSignedOut = false;

        if (_client.ConnectionCount != _seenConnections)
        {
            var first = _seenConnections == 0;
            _seenConnections = _client.ConnectionCount;
            _background = Task.Run(() => AfterConnectAsync(first));
            return;
        }

        if (DateTimeOffset.UtcNow >= _nextPoll)
        {
            _nextPoll = DateTimeOffset.UtcNow + _options.PollInterval;
            _background = Task.Run(RefreshViewAsync);
        }
    }

    /// <summary>
    /// One reconnect of the console's own, once the SDK stopped. A 401 from the sign-in (the password was changed, the
    /// account locked) ends the attempts: the same password again every few seconds would only count towards a
    /// lockout. Any other failure waits longer each time, so consoles cut off together by an outage do not sign in
    /// again together when it ends.
    /// </summary>
    private async Task ReconnectAsync()
    {
        var stopReason = _client.StopReason;
        try
        {
            await _client.ConnectAsync(_stop.Token);
            _reconnectBackoff.Reset();
        }
        catch (ImAuthException refused) when (refused.Status == HttpStatusCode.Unauthorized)
        {
            _signInRefused = true;
            SetStatus($"sign-in refused ({refused.Message}); not retrying with that password: Ctrl+R to type the password again, Ctrl+E to quit");
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            if (_client.SignedOut)
            {
                // Signed out again as it signed in: the agent is asked again.
                _signInAgainAsked = false;
                _toldSignedOut = false;
                return;
            }

            var pause = _reconnectBackoff.Next();
            _nextReconnect = Clock.GetUtcNow() + pause;
            var why = stopReason is null ? "" : $"connection stopped: {stopReason}; ";
            SetStatus($"{why}reconnect failed: {ex.Message}; next attempt in {pause.TotalSeconds:0} s");
        }
    }

    private async Task AfterConnectAsync(bool first)
    {
        await GuardAsync(async () =>
        {
            // Nothing is asserted again: the queue keeps the agent's availability, and a press that did not reach it was
            // rolled back on screen. Re-asserting this console's last view would undo a change made from another console
            // meanwhile (turning the agent offline, their sessions back to the queue); the view below says what holds.
            var sync = await _client.SyncAsync(0);
            lock (_state.Sync)
            {
                foreach (var entry in sync.Changed)
                {
                    _state.Unread[entry.ConversationId] = entry.UnreadCount;
                }

                if (!first)
                {
                    // Whatever changed while away (edits, recalls) is pulled again, for each conversation when selected.
                    _state.Unload();
                    _state.Status = "reconnected";
                }
            }

            await RefreshViewAsync();
        });
    }

    /// <summary>Asks for the agent view; loads the history of a newly selected conversation and marks it read.</summary>
    private async Task RefreshViewAsync()
    {
        await GuardAsync(async () =>
        {
            int version;
            lock (_state.Sync)
            {
                version = _state.WantOnlineVersion;
            }

            var view = await _client.GetAgentViewAsync(_state.ShopId);
            string? selected;
            bool load;
            int generation;
            lock (_state.Sync)
            {
                _state.View = view;
                if (_state.WantOnlineVersion == version)
                {
                    // The server's word, unless the agent changed it meanwhile (the view may predate that change).
                    _state.WantOnline = view.Available;
                }

                _state.SelectAnotherIfGone();

                selected = _state.Selected;
                // Not "has a history": pushed messages make one for any conversation, pulled or not.
                load = selected is not null && !_state.Loaded.Contains(selected);
                generation = _state.LoadGeneration;
                _state.Dirty = true;
            }

            if (selected is null)
            {
                return;
            }

            if (load)
            {
                var page = await _client.PullAsync(selected, 0, long.MaxValue, ConsoleState.HistoryKept);
                lock (_state.Sync)
                {
                    // Merged, not replaced: what was pushed while the pull was in flight stays. A session that ended
                    // meanwhile is not kept.
                    if (_state.IsListed(selected))
                    {
                        _state.Merge(selected, page.Messages, generation);
                    }
                }
            }

            await MarkSelectedReadAsync();
        });
    }

    private async Task MarkSelectedReadAsync()
    {
        string? selected;
        long last;
        lock (_state.Sync)
        {
            selected = _state.Selected;
            last = selected is not null && _state.Histories.TryGetValue(selected, out var history) && history.Count > 0 ? history[^1].Seq : 0;
            if (selected is null || last == 0 || _state.Unread.GetValueOrDefault(selected) == 0)
            {
                return;
            }
        }

        var entry = await _client.MarkReadAsync(selected, last);
        lock (_state.Sync)
        {
            _state.Unread[selected] = entry?.UnreadCount ?? 0;
            _state.Dirty = true;
        }
    }

    /// <summary>
    /// One key: the screen changes at once; whatever needs the server runs in the background. A terminal hands a paste
    /// over as keys, all waiting at once (<paramref name="moreKeysWaiting"/>): a Tab or a line break among them is part
    /// of the text, not "next session" or "send", or the rest of the paste would go to another customer, and each line
    /// out as a message of its own.
    /// </summary>
    internal void OnKey(ConsoleKeyInfo key, bool moreKeysWaiting)
    {
        var control = (key.Modifiers & ConsoleModifiers.Control) != 0;
        var pasted = moreKeysWaiting && (key.Modifiers & (ConsoleModifiers.Control | ConsoleModifiers.Alt | ConsoleModifiers.Shift)) == 0;
        switch (key.Key)
        {
            case ConsoleKey.Tab when pasted:
                Type("\t");
                return;
            case ConsoleKey.Enter when pasted && Locked(() => _state.Mode != InputMode.Password):
                // A password pasted with its line break is typed and sent, not kept with a line break in it.
                Type("\n");
                return;
            case ConsoleKey.C or ConsoleKey.E when control:
                _stop.Cancel();
                return;
            case ConsoleKey.G when control:
                Background(ToggleOnlineAsync);
                return;
            case ConsoleKey.T when control:
                lock (_state.Sync)
                {
                    if (_state.Selected is { } selected)
                    {
                        // The reply being typed is kept as the session's draft: Esc (cancelling the transfer) brings it back.
                        if (_state.Mode == InputMode.Reply && _state.Input.Length > 0
                            && !(_state.Unsent.TryGetValue(selected, out var unsent) && unsent.Text == _state.Input))
                        {
                            _state.Drafts[selected] = _state.Input;
                        }

                        _state.Mode = InputMode.TransferTarget;
                        _state.Input = "";
                        _state.Dirty = true;
                    }
                }

                return;
            case ConsoleKey.X when control:
                Background(CloseSelectedAsync);
                return;
            case ConsoleKey.R when control && _signInRefused:
                AskForPassword();
                return;
            case ConsoleKey.R when control:
                if (_client.SignedOut)
                {
                    _signInAgainAsked = true;
                    SetStatus("signing in again…");
                    return;
                }

                lock (_state.Sync)
                {
                    _state.Unload();
                }

                Background(RefreshViewAsync);
                return;
            case ConsoleKey.Tab or ConsoleKey.UpArrow or ConsoleKey.DownArrow when Locked(() => _state.Mode == InputMode.Password):
                // Another session selected would take the line back for replies, and what is typed next, meant as the
                // password, would go out to a customer as plain text: Enter or Esc first.
                SetStatus("type the password and press Enter, or Esc to cancel, before choosing another session");
                return;
            case ConsoleKey.Tab when (key.Modifiers & ConsoleModifiers.Shift) != 0:
            case ConsoleKey.UpArrow:
                Select(-1);
                Background(RefreshViewAsync);
                return;
            case ConsoleKey.Tab:
            case ConsoleKey.DownArrow:
                Select(1);
                Background(RefreshViewAsync);
                return;
            case ConsoleKey.Escape:
                lock (_state.Sync)
                {
                    if (_state.DiscardUnsentOnLine())
                    {
                        _state.Status = "the reply that was not sent is discarded";
                    }
                    else
                    {
                        // Cleared, the line offers the session's unsent reply again, if there is one; a cancelled transfer
                        // or password gives back the reply that was being typed.
                        var draft = _state.Mode != InputMode.Reply && _state.Selected is { } selected && _state.Drafts.Remove(selected, out var kept)
                            ? kept
                            : "";
                        _state.Mode = InputMode.Reply;
                        _state.Input = draft;
                        _state.RestoreUnsent();
                    }

                    _state.Dirty = true;
                }

                return;
            case ConsoleKey.Enter:
                Submit();
                return;
            case ConsoleKey.Backspace:
                lock (_state.Sync)
                {
                    _state.Input = ConsoleText.RemoveLastTextElement(_state.Input);
                    _state.Dirty = true;
                }

                return;
            default:
                if (!control && !char.IsControl(key.KeyChar))
                {
                    Type(key.KeyChar.ToString());
                }

                return;
        }
    }

    /// <summary>
    /// Ctrl+R after a refused sign-in: the input line takes the password (not shown), the reply being typed kept as
    /// the session's draft like for a transfer. Enter signs in with it (<see cref="Submit"/>), Esc gives the reply back.
    /// </summary>
    private void AskForPassword()
    {
        lock (_state.Sync)
        {
            if (_state.Mode == InputMode.Reply && _state.Input.Length > 0 && _state.Selected is { } selected
                && !(_state.Unsent.TryGetValue(selected, out var unsent) && unsent.Text == _state.Input))
            {
                _state.Drafts[selected] = _state.Input;
            }

            _state.Mode = InputMode.Password;
            _state.Input = "";
            _state.Status = "type the password and press Enter (Esc: cancel)";
            _state.Dirty = true;
        }
    }

    /// <summary>Enter on the password line: the next sign-in uses it, at once; the reply being typed before comes back.</summary>
    private void SignInWith(string password)
    {
        if (password.Length == 0)
        {
            SetStatus("no password typed: Ctrl+R to type it again");
            return;
        }

        UsePassword(password);
        _reconnectBackoff.Reset();
        _nextReconnect = DateTimeOffset.MinValue;
        // A refused sign-in leaves the client signed out: the agent has just asked for this one.
        _signInAgainAsked = true;
        _signInRefused = false;
        SetStatus("signing in…");
    }

    private T Locked<T>(Func<T> read)
    {
        lock (_state.Sync)
        {
            return read();
        }
    }

    private void Type(string text)
    {
        lock (_state.Sync)
        {
            _state.Input += text;
            _state.Dirty = true;
        }
    }

    /// <summary>Runs a call off the key loop; its failure is told on the status line (see <see cref="GuardAsync"/>).</summary>
    private void Background(Func<Task> call) => _ = Task.Run(() => GuardAsync(call));

    /// <summary>The agent's online switch: shown at once, rolled back when the server did not take it.</summary>
    private async Task ToggleOnlineAsync()
    {
        bool? previous;
        bool online;
        int version;
        lock (_state.Sync)
        {
            previous = _state.WantOnline;
            online = !(_state.WantOnline ?? _state.View?.Available ?? false);
            _state.WantOnline = online;
            version = ++_state.WantOnlineVersion;
            _state.Dirty = true;
        }

        var taken = false;
        try
        {
            await GuardAsync(async () =>
            {
                await _client.SetAgentAvailableAsync(_state.ShopId, online);
                taken = true;
                SetStatus(online ? "online: taking sessions" : "offline: your sessions went back to the queue");
                await RefreshViewAsync();
            });
        }
        finally
        {
            if (!taken)
            {
                lock (_state.Sync)
                {
                    if (_state.WantOnlineVersion == version)
                    {
                        _state.WantOnline = previous;
                        _state.WantOnlineVersion++;
                        _state.Dirty = true;
                    }
                }
            }
        }
    }

    private void Select(int step)
    {
        lock (_state.Sync)
        {
            _state.Move(step);
        }
    }

    /// <summary>Enter: the input line goes out in the background (a reply, or a transfer); the line is free at once.</summary>
    private void Submit()
    {
        string text;
        InputMode mode;
        CsSession? session;
        UnsentReply? unsent;
        UnsentReply? failedBefore;
        lock (_state.Sync)
        {
            if (_state.Mode == InputMode.Password)
            {
                // Not trimmed: spaces may be part of a password.
                var password = _state.Input;
                _state.Input = _state.Selected is { } selected && _state.Drafts.Remove(selected, out var draft) ? draft : "";
                _state.Mode = InputMode.Reply;
                _state.RestoreUnsent();
                _state.Dirty = true;
                SignInWith(password);
                return;
            }

            text = _state.Input.Trim();
            mode = _state.Mode;
            session = _state.SelectedSession;
            unsent = session is null ? null : _state.Unsent.GetValueOrDefault(session.ConversationId);
            failedBefore = session is null ? null : _state.FailedReply(session, text);
            _state.Input = "";
            _state.Mode = InputMode.Reply;
            _state.Dirty = true;
        }

        if (session is null)
        {
            SetStatus("no session selected");
            return;
        }

        if (mode == InputMode.TransferTarget)
        {
            Background(() => ActOnSessionAsync(session,
                () => _client.TransferSessionAsync(_state.ShopId, session.UserId, text.Length == 0 ? null : text, session.SessionId),
                text.Length == 0 ? $"{session.UserId} went back to the queue" : $"{session.UserId} transferred to {text}"));
            return;
        }

        if (text.Length == 0)
        {
            return;
        }

        // The same text sent again to the same conversation keeps its client message id: if the first attempt was
        // stored after all (its ack was lost), the server answers Duplicate instead of storing it twice.
        var again = unsent is not null && unsent.SessionId == session.SessionId && unsent.Text == text;
        // A reply that failed before, its place as the one offered taken by a later failure, keeps its id too.
        var reply = again ? unsent! : failedBefore ?? new UnsentReply(session.ConversationId, session.SessionId, text, Guid.NewGuid().ToString("N"));
        lock (_state.Sync)
        {
            var status = $"sending to {session.UserId}…";
            if (again)
            {
                // Sent again, it is no longer unsent (it comes back if this attempt fails too).
                _state.Unsent.Remove(reply.ConversationId);
            }
            else if (_state.RestoreUnsent())
            {
                // Other text was sent: the reply not sent stays so until it is itself sent or discarded, and takes the
                // line again now that it is free.
                status += $"; your earlier reply was not sent: {_state.UnsentHint(session.ConversationId, session.UserId)}";
            }

            _state.Status = status;
            _state.Dirty = true;
        }

        _replies.Writer.TryWrite((reply, session.UserId));
    }

    /// <summary>
    /// The single reader of the reply queue: each reply is handed to the SDK in the order it was typed (the SDK sends,
    /// and resends after a reconnect, in that order); the acks are awaited side by side.
    /// </summary>
    private async Task SendRepliesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var (reply, userId) in _replies.Reader.ReadAllAsync(cancellationToken))
            {
                Task<SendAck> sending;
                try
                {
                    sending = SendReply(reply);
                }
                catch (Exception ex) when (ex is ImClientException or InvalidOperationException or ObjectDisposedException)
                {
                    sending = Task.FromException<SendAck>(ex);
                }

                _ = AwaitAckAsync(reply, userId, sending, cancellationToken);
            }
        }
        catch (OperationCanceledException)
        {
            // Quitting.
        }
    }

    /// <summary>Waits <see cref="SendTimeout"/> at most for a reply's ack; a reply not sent is kept to send again.</summary>
    private async Task AwaitAckAsync(UnsentReply reply, string userId, Task<SendAck> sending, CancellationToken cancellationToken)
    {
        string? failure;
        try
        {
            var ack = await sending.WaitAsync(SendTimeout, cancellationToken);
            failure = ack.Status is SendStatus.Sent or SendStatus.Duplicate ? null : ack.Error?.Message ?? ack.Status.ToString();
        }
        catch (ImClientException ex)
        {
            failure = ex.Error?.Message ?? ex.Message;
        }
        catch (TimeoutException)
        {
            // The SDK may still send it once the connection is back; sent again unchanged with Enter, it is stored once
            // either way. Edited, it is another message, and the first may still arrive: the agent is told so, and the
            // late ack takes it off the line (AcceptLateAckAsync).
            failure = $"no answer in {SendTimeout.TotalSeconds:0} s ({ConnectionWord(_client.Status)}; it may still go out, so an edited copy could arrive as well)";
            _ = AcceptLateAckAsync(reply, userId, sending, cancellationToken);
        }
        catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
        {
            return;
        }

        lock (_state.Sync)
        {
            if (failure is null)
            {
                if (_state.Status == $"sending to {userId}…")
                {
                    _state.Status = "";
                }
            }
            else
            {
                // Kept per conversation: a second reply that fails elsewhere does not replace this one. The status says
                // where it is, which depends on what the agent is doing now.
                _state.Unsent[reply.ConversationId] = reply;
                _state.Failed[(reply.ConversationId, reply.Text)] = reply;
                _state.RestoreUnsent();
                _state.Status = $"reply to {userId} not sent: {failure}; {_state.UnsentHint(reply.ConversationId, userId)}";
            }

            _state.Dirty = true;
        }

        // The answer stops the session's "awaiting answer" mark: show it without waiting for the next poll.
        _nextPoll = DateTimeOffset.MinValue;
    }

    /// <summary>
    /// A reply given back after the timeout may still be sent by the SDK (resent after a reconnect): when it is, it is
    /// shown as sent, so it must no longer be offered as unsent as well.
    /// </summary>
    private async Task AcceptLateAckAsync(UnsentReply reply, string userId, Task<SendAck> sending, CancellationToken cancellationToken)
    {
        try
        {
            var ack = await sending.WaitAsync(cancellationToken);
            if (ack.Status is not (SendStatus.Sent or SendStatus.Duplicate))
            {
                return;
            }
        }
        catch (Exception ex) when (ex is ImClientException or OperationCanceledException)
        {
            // Not sent after all (or quitting): it stays offered.
            return;
        }

        lock (_state.Sync)
        {
            if (_state.SentAfterAll(reply))
            {
                _state.Status = $"the reply to {userId} that had no answer was sent after all";
            }
        }
    }

    private static string ConnectionWord(ImClientStatus status) => status == ImClientStatus.Connected ? "connected" : "not connected";

    private async Task CloseSelectedAsync()
    {
        CsSession? session;
        lock (_state.Sync)
        {
            session = _state.SelectedSession;
        }

        if (session is null)
        {
            return;
        }

        await GuardAsync(() => ActOnSessionAsync(session,
            () => _client.CloseSessionAsync(_state.ShopId, session.UserId, session.SessionId),
            $"closed the session with {session.UserId}"));
    }

    /// <summary>
    /// Closes or transfers the session on screen, by its id: when it is no longer the agent's (it ended as idle, say) the
    /// queue does nothing, even if the user has opened another since, which the agent has not seen yet; the refreshed
    /// view shows what holds.
    /// </summary>
    private async Task ActOnSessionAsync(CsSession session, Func<Task> act, string done)
    {
        try
        {
            await act();
            SetStatus(done);
        }
        catch (ImClientException ex) when (ex.Error?.Code == ErrorCode.NotFound)
        {
            // Ended, or given to another agent (an answer too late), or this agent was taken off the shop.
            SetStatus($"the session with {session.UserId} is no longer yours: nothing was done");
        }

        await RefreshViewAsync();
    }

    private async Task PumpMessagesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in _client.Messages.ReadAllAsync(cancellationToken))
            {
                bool shown;
                lock (_state.Sync)
                {
                    shown = _state.AddPushed(message);
                }

                if (shown && message.ConversationId == _state.Selected)
                {
                    await GuardAsync(MarkSelectedReadAsync);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Quitting.
        }
    }

    private async Task PumpEventsAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var pushed in _client.Events.ReadAllAsync(cancellationToken))
            {
                if (pushed.Changed?.Message is { } changed)
                {
                    // An edit or a recall (card details posted by mistake): the new state replaces the old on screen.
                    lock (_state.Sync)
                    {
                        _state.AddPushed(changed);
                    }
                }
                else if (pushed.Conversation is { } entry)
                {
                    lock (_state.Sync)
                    {
                        _state.Unread[entry.ConversationId] = entry.UnreadCount;
                        _state.Dirty = true;
                    }

                    // A session came or went (assigned, transferred, closed): ask for the view at once.
                    _nextPoll = DateTimeOffset.MinValue;
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Quitting.
        }
    }

    public void Dispose()
    {
        _replies.Writer.TryComplete();
        _stop.Cancel();
        _stop.Dispose();
    }

    private async Task GuardAsync(Func<Task> action)
    {
        try
        {
            await action();
        }
        catch (ImClientException ex)
        {
            SetStatus($"error: {ex.Error?.Message ?? ex.Message}");
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            // Quitting.
        }
    }

    private void SetStatus(string status)
    {
        lock (_state.Sync)
        {
            _state.Status = status;
            _state.Dirty = true;
        }
    }
}
