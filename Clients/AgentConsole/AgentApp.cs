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
/// drawing and can be quit while the connection is down.
/// </summary>
public sealed class AgentApp(ImClient client, ConsoleState state, ConsoleOptions options) : IDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(50);

    /// <summary>
    /// How long a reply waits for its ack before it is given back to the agent to send again. The SDK would hold it
    /// through a reconnect for as long as it keeps trying (many minutes); the agent hears sooner.
    /// </summary>
    private static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(20);

    private readonly CancellationTokenSource _stop = new();
    private int _seenConnections;
    private DateTimeOffset _nextPoll = DateTimeOffset.MinValue;
    private Task _background = Task.CompletedTask;

    public async Task RunAsync()
    {
        _ = Task.Run(() => PumpMessagesAsync(_stop.Token));
        _ = Task.Run(() => PumpEventsAsync(_stop.Token));
        Console.TreatControlCAsInput = true;
        await AnsiConsole.Live(ConsoleScreen.Render(state, Console.WindowHeight))
            .AutoClear(false)
            .Overflow(VerticalOverflow.Ellipsis)
            .Cropping(VerticalOverflowCropping.Top)
            .StartAsync(async live =>
            {
                while (!_stop.IsCancellationRequested)
                {
                    while (Console.KeyAvailable)
                    {
                        OnKey(Console.ReadKey(intercept: true));
                    }

                    await KeepUpAsync();
                    lock (state.Sync)
                    {
                        if (state.Dirty)
                        {
                            state.Dirty = false;
                            live.UpdateTarget(ConsoleScreen.Render(state, Console.WindowHeight));
                        }
                    }

                    await Task.Delay(Tick);
                }
            });
    }

    /// <summary>Reconnects when the SDK gave up, reasserts availability after a new connection, polls the view.</summary>
    private async Task KeepUpAsync()
    {
        lock (state.Sync)
        {
            if (state.Connection != client.Status)
            {
                state.Connection = client.Status;
                state.Dirty = true;
            }
        }

        if (!_background.IsCompleted)
        {
            return;
        }

        if (client.Status is ImClientStatus.WaitingForReconnect or ImClientStatus.Disconnected)
        {
            _background = Task.Run(async () =>
            {
                try
                {
                    await client.ConnectAsync(_stop.Token);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    SetStatus($"reconnect failed: {ex.Message}");
                    await Task.Delay(options.PollInterval, _stop.Token);
                }
            });
            return;
        }

        if (client.Status != ImClientStatus.Connected)
        {
            return;
        }

        if (client.ConnectionCount != _seenConnections)
        {
            var first = _seenConnections == 0;
            _seenConnections = client.ConnectionCount;
            _background = Task.Run(() => AfterConnectAsync(first));
            return;
        }

        if (DateTimeOffset.UtcNow >= _nextPoll)
        {
            _nextPoll = DateTimeOffset.UtcNow + options.PollInterval;
            _background = Task.Run(RefreshViewAsync);
        }
    }

    private async Task AfterConnectAsync(bool first)
    {
        await GuardAsync(async () =>
        {
            // Nothing is asserted again: the queue keeps the agent's availability, and a press that did not reach it was
            // rolled back on screen. Re-asserting this console's last view would undo a change made from another console
            // meanwhile (turning the agent offline, their sessions back to the queue); the view below says what holds.
            var sync = await client.SyncAsync(0);
            lock (state.Sync)
            {
                foreach (var entry in sync.Changed)
                {
                    state.Unread[entry.ConversationId] = entry.UnreadCount;
                }

                if (!first)
                {
                    // Whatever changed while away (edits, recalls) is pulled again, for each conversation when selected.
                    state.Unload();
                    state.Status = "reconnected";
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
            lock (state.Sync)
            {
                version = state.WantOnlineVersion;
            }

            var view = await client.GetAgentViewAsync(state.ShopId);
            string? selected;
            bool load;
            int generation;
            lock (state.Sync)
            {
                state.View = view;
                if (state.WantOnlineVersion == version)
                {
                    // The server's word, unless the agent changed it meanwhile (the view may predate that change).
                    state.WantOnline = view.Available;
                }

                state.SelectAnotherIfGone();

                selected = state.Selected;
                // Not "has a history": pushed messages make one for any conversation, pulled or not.
                load = selected is not null && !state.Loaded.Contains(selected);
                generation = state.LoadGeneration;
                state.Dirty = true;
            }

            if (selected is null)
            {
                return;
            }

            if (load)
            {
                var page = await client.PullAsync(selected, 0, long.MaxValue, ConsoleState.HistoryKept);
                lock (state.Sync)
                {
                    // Merged, not replaced: what was pushed while the pull was in flight stays.
                    state.Merge(selected, page.Messages, generation);
                }
            }

            await MarkSelectedReadAsync();
        });
    }

    private async Task MarkSelectedReadAsync()
    {
        string? selected;
        long last;
        lock (state.Sync)
        {
            selected = state.Selected;
            last = selected is not null && state.Histories.TryGetValue(selected, out var history) && history.Count > 0 ? history[^1].Seq : 0;
            if (selected is null || last == 0 || state.Unread.GetValueOrDefault(selected) == 0)
            {
                return;
            }
        }

        var entry = await client.MarkReadAsync(selected, last);
        lock (state.Sync)
        {
            state.Unread[selected] = entry?.UnreadCount ?? 0;
            state.Dirty = true;
        }
    }

    /// <summary>One key: the screen changes at once; whatever needs the server runs in the background.</summary>
    private void OnKey(ConsoleKeyInfo key)
    {
        var control = (key.Modifiers & ConsoleModifiers.Control) != 0;
        switch (key.Key)
        {
            case ConsoleKey.C or ConsoleKey.E when control:
                _stop.Cancel();
                return;
            case ConsoleKey.G when control:
                Background(ToggleOnlineAsync);
                return;
            case ConsoleKey.T when control:
                lock (state.Sync)
                {
                    if (state.Selected is not null)
                    {
                        state.Mode = InputMode.TransferTarget;
                        state.Input = "";
                        state.Dirty = true;
                    }
                }

                return;
            case ConsoleKey.X when control:
                Background(CloseSelectedAsync);
                return;
            case ConsoleKey.R when control:
                lock (state.Sync)
                {
                    state.Unload();
                }

                Background(RefreshViewAsync);
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
                lock (state.Sync)
                {
                    state.Mode = InputMode.Reply;
                    state.Input = "";
                    state.Dirty = true;
                }

                return;
            case ConsoleKey.Enter:
                Submit();
                return;
            case ConsoleKey.Backspace:
                lock (state.Sync)
                {
                    state.Input = state.Input.Length == 0 ? "" : state.Input[..^1];
                    state.Dirty = true;
                }

                return;
            default:
                if (!control && !char.IsControl(key.KeyChar))
                {
                    lock (state.Sync)
                    {
                        state.Input += key.KeyChar;
                        state.Dirty = true;
                    }
                }

                return;
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
        lock (state.Sync)
        {
            previous = state.WantOnline;
            online = !(state.WantOnline ?? state.View?.Available ?? false);
            state.WantOnline = online;
            version = ++state.WantOnlineVersion;
            state.Dirty = true;
        }

        var taken = false;
        try
        {
            await GuardAsync(async () =>
            {
                await client.SetAgentAvailableAsync(state.ShopId, online);
                taken = true;
                SetStatus(online ? "online: taking sessions" : "offline: your sessions went back to the queue");
                await RefreshViewAsync();
            });
        }
        finally
        {
            if (!taken)
            {
                lock (state.Sync)
                {
                    if (state.WantOnlineVersion == version)
                    {
                        state.WantOnline = previous;
                        state.WantOnlineVersion++;
                        state.Dirty = true;
                    }
                }
            }
        }
    }

    private void Select(int step)
    {
        lock (state.Sync)
        {
            state.Move(step);
        }
    }

    /// <summary>Enter: the input line goes out in the background (a reply, or a transfer); the line is free at once.</summary>
    private void Submit()
    {
        string text;
        InputMode mode;
        CsSession? session;
        UnsentReply? unsent;
        lock (state.Sync)
        {
            text = state.Input.Trim();
            mode = state.Mode;
            session = state.SelectedSession;
            unsent = session is null ? null : state.Unsent.GetValueOrDefault(session.ConversationId);
            state.Input = "";
            state.Mode = InputMode.Reply;
            state.Dirty = true;
        }

        if (session is null)
        {
            SetStatus("no session selected");
            return;
        }

        if (mode == InputMode.TransferTarget)
        {
            Background(async () =>
            {
                await client.TransferSessionAsync(state.ShopId, session.UserId, text.Length == 0 ? null : text);
                SetStatus(text.Length == 0 ? $"{session.UserId} went back to the queue" : $"{session.UserId} transferred to {text}");
                await RefreshViewAsync();
            });
            return;
        }

        if (text.Length == 0)
        {
            return;
        }

        // The same text sent again to the same conversation keeps its client message id: if the first attempt was
        // stored after all (its ack was lost), the server answers Duplicate instead of storing it twice.
        var reply = unsent is not null && unsent.SessionId == session.SessionId && unsent.Text == text
            ? unsent
            : new UnsentReply(session.ConversationId, session.SessionId, text, Guid.NewGuid().ToString("N"));
        lock (state.Sync)
        {
            // Sent again, or replaced by another reply to its conversation (edited), it is no longer unsent (it comes back
            // if this attempt fails too); the other conversations' stay where they are.
            state.Unsent.Remove(reply.ConversationId);
        }

        SetStatus($"sending to {session.UserId}…");
        _ = Task.Run(() => SendAsync(reply, session.UserId));
    }

    /// <summary>Sends a reply, waiting <see cref="SendTimeout"/> at most; a reply not sent is kept to send again.</summary>
    private async Task SendAsync(UnsentReply reply, string userId)
    {
        string? failure;
        try
        {
            var ack = await client.SendTextAsync(reply.ConversationId, reply.Text, reply.ClientMsgId).WaitAsync(SendTimeout, _stop.Token);
            failure = ack.Status is SendStatus.Sent or SendStatus.Duplicate ? null : ack.Error?.Message ?? ack.Status.ToString();
        }
        catch (ImClientException ex)
        {
            failure = ex.Error?.Message ?? ex.Message;
        }
        catch (TimeoutException)
        {
            // The SDK may still send it once the connection is back; sent again unchanged with Enter, it is stored once
            // either way. Edited, it is another message, and the first may still arrive: the agent is told so.
            failure = $"no answer in {SendTimeout.TotalSeconds:0} s ({ConnectionWord(client.Status)}; it may still go out, so an edited copy could arrive as well)";
        }
        catch (OperationCanceledException) when (_stop.IsCancellationRequested)
        {
            return;
        }

        lock (state.Sync)
        {
            if (failure is null)
            {
                if (state.Status == $"sending to {userId}…")
                {
                    state.Status = "";
                }
            }
            else
            {
                // Kept per conversation: a second reply that fails elsewhere does not replace this one.
                state.Unsent[reply.ConversationId] = reply;
                state.RestoreUnsent();
                state.Status = $"reply to {userId} not sent: {failure}; Enter sends it again";
            }

            state.Dirty = true;
        }

        // The answer stops the session's "awaiting answer" mark: show it without waiting for the next poll.
        _nextPoll = DateTimeOffset.MinValue;
    }

    private static string ConnectionWord(ImClientStatus status) => status == ImClientStatus.Connected ? "connected" : "not connected";

    private async Task CloseSelectedAsync()
    {
        CsSession? session;
        lock (state.Sync)
        {
            session = state.SelectedSession;
        }

        if (session is null)
        {
            return;
        }

        await GuardAsync(async () =>
        {
            await client.CloseSessionAsync(state.ShopId, session.UserId);
            SetStatus($"closed the session with {session.UserId}");
            await RefreshViewAsync();
        });
    }

    private async Task PumpMessagesAsync(CancellationToken cancellationToken)
    {
        try
        {
            await foreach (var message in client.Messages.ReadAllAsync(cancellationToken))
            {
                lock (state.Sync)
                {
                    state.Add(message);
                }

                if (message.ConversationId == state.Selected)
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
            await foreach (var pushed in client.Events.ReadAllAsync(cancellationToken))
            {
                if (pushed.Changed?.Message is { } changed)
                {
                    // An edit or a recall (card details posted by mistake): the new state replaces the old on screen.
                    lock (state.Sync)
                    {
                        state.Add(changed);
                    }
                }
                else if (pushed.Conversation is { } entry)
                {
                    lock (state.Sync)
                    {
                        state.Unread[entry.ConversationId] = entry.UnreadCount;
                        state.Dirty = true;
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

    public void Dispose() => _stop.Dispose();

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
        lock (state.Sync)
        {
            state.Status = status;
            state.Dirty = true;
        }
    }
}
