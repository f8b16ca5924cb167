using System.Net;
using System.Runtime.CompilerServices;
using Orleans.Im.AgentConsole;
using Orleans.Im.Client;
using Orleans.Im.Protocol.V1;
using static Orleans.Im.Tests.AgentConsole.AgentKeys;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>
/// The agent console's keys, reply queue and reconnects, driven through its internal seams: keys as ReadKey hands them,
/// the SDK's send replaced by a recorder, a clock moved by hand. No server: the client is never connected.
/// </summary>
[Trait("Category", "Unit")]
public sealed class AgentAppTests
{
    private const string First = "cs:shop:u1";
    private const string Second = "cs:shop:u2";
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    [Fact]
    public async Task A_pasted_tab_and_line_breaks_stay_in_the_reply_to_the_selected_customer()
    {
        await using var client = Offline();
        var state = TwoSessions();
        var sends = new List<UnsentReply>();
        using var app = new AgentApp(client, state, new ConsoleOptions()) { SendReply = Recording(sends) };

        // Two cells copied from the order system, then a line: one paste, so all its keys are waiting at once.
        Paste(app, "Order:\t12345\nPlease check the address");

        lock (state.Sync)
        {
            Assert.Equal(First, state.Selected);
            Assert.Equal("Order:\t12345\nPlease check the address", state.Input);
        }

        Assert.Empty(Snapshot(sends));

        // Enter typed by hand sends it, as one message, to u1.
        Press(app, ConsoleKey.Enter);
        await Eventually(() => Snapshot(sends).Count == 1);
        Assert.Equal((First, "Order:\t12345\nPlease check the address"), (sends[0].ConversationId, sends[0].Text));
    }

    [Fact]
    public async Task Tab_and_enter_typed_alone_still_select_the_next_session_and_send()
    {
        await using var client = Offline();
        var state = TwoSessions();
        var sends = new List<UnsentReply>();
        using var app = new AgentApp(client, state, new ConsoleOptions()) { SendReply = Recording(sends) };

        Press(app, ConsoleKey.Tab);
        Type(app, "hi\n");

        await Eventually(() => Snapshot(sends).Count == 1);
        Assert.Equal((Second, "hi"), (sends[0].ConversationId, sends[0].Text));
    }

    [Fact]
    public async Task Replies_reach_the_sdk_in_the_order_they_were_typed()
    {
        await using var client = Offline();
        var state = TwoSessions();
        var sends = new List<UnsentReply>();
        var record = Recording(sends);
        var calls = 0;
        using var overtaken = new SemaphoreSlim(0);
        using var app = new AgentApp(client, state, new ConsoleOptions())
        {
            SendReply = reply =>
            {
                // The first hand-over is slow (the SDK's send lock held by a reconnect): it waits until a later reply
                // overtakes it, or 2 s, long enough for the thread pool to run one if anything let it.
                if (Interlocked.Increment(ref calls) == 1)
                {
                    overtaken.Wait(TimeSpan.FromSeconds(2));
                }
                else
                {
                    overtaken.Release();
                }

                return record(reply);
            },
        };

        Type(app, "one\n");
        Type(app, "two\n");
        Type(app, "three\n");

        await Eventually(() => Snapshot(sends).Count == 3);
        Assert.Equal(["one", "two", "three"], Snapshot(sends).Select(s => s.Text));
    }

    [Fact]
    public async Task A_reply_that_failed_while_the_next_was_typed_is_kept_after_enter_sends_the_next_and_sent_again_with_its_id()
    {
        await using var client = Offline();
        var state = TwoSessions();
        var sends = new List<UnsentReply>();
        using var app = new AgentApp(client, state, new ConsoleOptions()) { SendReply = Recording(sends), SendTimeout = TimeSpan.FromMilliseconds(100) };

        Type(app, "Your refund was approved\n");
        Type(app, "anything else?");
        await Eventually(() => Locked(state, () => state.Unsent.ContainsKey(First)));
        lock (state.Sync)
        {
            // The line is busy: the reply is not on it, and the status says where it will be, not "Enter sends it again".
            Assert.Equal("anything else?", state.Input);
            Assert.Contains("not sent", state.Status, StringComparison.Ordinal);
            Assert.Contains("once that is empty", state.Status, StringComparison.Ordinal);
        }

        Press(app, ConsoleKey.Enter);
        lock (state.Sync)
        {
            Assert.Equal("Your refund was approved", state.Unsent[First].Text);
            Assert.Equal("Your refund was approved", state.Input);
        }

        Press(app, ConsoleKey.Enter);
        await Eventually(() => Snapshot(sends).Count == 3);
        var all = Snapshot(sends);
        Assert.Equal(["Your refund was approved", "anything else?", "Your refund was approved"], all.Select(s => s.Text));
        Assert.Equal(all[0].ClientMsgId, all[2].ClientMsgId);
    }

    [Fact]
    public async Task A_failed_reply_left_on_the_line_when_a_later_one_failed_too_is_sent_again_with_its_own_id()
    {
        await using var client = Offline();
        var state = TwoSessions();
        var sends = new List<UnsentReply>();
        using var app = new AgentApp(client, state, new ConsoleOptions()) { SendReply = Recording(sends), SendTimeout = TimeSpan.FromMilliseconds(100) };

        // Both sent before either fails (their acks are awaited side by side, so either may fail first): the first to
        // fail comes back on the free line, then the other fails and is the one offered, the first still on the line.
        Type(app, "Your refund was approved\n");
        Type(app, "anything else?\n");
        await Eventually(() => Locked(state, () => state.Failed.Count == 2));
        var (onLine, offered) = Locked(state, () => (state.Input, state.Unsent[First].Text));
        Assert.True(onLine is "Your refund was approved" or "anything else?", onLine);
        Assert.NotEqual(onLine, offered);

        // Enter sends the one on the line again with its own id: had its first attempt gone out, it is stored once
        // (before, a new id stored it twice).
        Press(app, ConsoleKey.Enter);
        await Eventually(() => Snapshot(sends).Count == 3);
        var all = Snapshot(sends);
        Assert.Equal(onLine, all[2].Text);
        Assert.Equal(all.First(s => s.Text == onLine).ClientMsgId, all[2].ClientMsgId);
    }

    [Fact]
    public async Task Esc_discards_the_reply_that_was_not_sent()
    {
        await using var client = Offline();
        var state = TwoSessions();
        using var app = new AgentApp(client, state, new ConsoleOptions()) { SendReply = Recording([]), SendTimeout = TimeSpan.FromMilliseconds(100) };

        Type(app, "it ships today\n");
        await Eventually(() => Locked(state, () => state.Input == "it ships today"));
        Press(app, ConsoleKey.Escape);

        lock (state.Sync)
        {
            Assert.Empty(state.Unsent);
            Assert.Equal("", state.Input);
        }
    }

    [Fact]
    public async Task A_transfer_cancelled_with_esc_gives_back_the_reply_being_typed()
    {
        await using var client = Offline();
        var state = TwoSessions();
        using var app = new AgentApp(client, state, new ConsoleOptions());

        Type(app, "let me check that for");
        PressControl(app, ConsoleKey.T);
        Assert.Equal((InputMode.TransferTarget, ""), Locked(state, () => (state.Mode, state.Input)));
        Type(app, "agent-2");
        Press(app, ConsoleKey.Escape);

        Assert.Equal((InputMode.Reply, "let me check that for"), Locked(state, () => (state.Mode, state.Input)));
    }

    [Fact]
    public async Task A_reply_acked_after_its_timeout_is_no_longer_offered_as_unsent()
    {
        await using var client = Offline();
        var state = TwoSessions();
        var ack = new TaskCompletionSource<SendAck>(TaskCreationOptions.RunContinuationsAsynchronously);
        using var app = new AgentApp(client, state, new ConsoleOptions()) { SendReply = _ => ack.Task, SendTimeout = TimeSpan.FromMilliseconds(100) };

        Type(app, "it ships today\n");
        await Eventually(() => Locked(state, () => state.Unsent.ContainsKey(First) && state.Input == "it ships today"));

        // The SDK resent it once the connection was back, and the server stored it.
        ack.SetResult(new SendAck { Status = SendStatus.Sent, Seq = 9 });

        await Eventually(() => Locked(state, () => state.Unsent.Count == 0));
        lock (state.Sync)
        {
            Assert.Equal("", state.Input);
            Assert.Contains("sent after all", state.Status, StringComparison.Ordinal);
        }
    }

    [Fact]
    public async Task Backspace_removes_a_whole_emoji_or_letter_with_its_accent()
    {
        await using var client = Offline();
        var state = TwoSessions();
        using var app = new AgentApp(client, state, new ConsoleOptions());

        Type(app, "ok e\u0301 \U0001F44D");
        Press(app, ConsoleKey.Backspace);
        Assert.Equal("ok e\u0301 ", Locked(state, () => state.Input));

        Press(app, ConsoleKey.Backspace);
        Press(app, ConsoleKey.Backspace);
        Assert.Equal("ok ", Locked(state, () => state.Input));
    }

    [Fact]
    public async Task A_refused_sign_in_is_not_tried_again_and_the_agent_is_told_to_sign_in()
    {
        var signIns = new StrongBox<int>();
        await using var client = RefusingEverySignIn(signIns);
        var state = TwoSessions();
        var clock = new ManualClock();
        using var app = new AgentApp(client, state, new ConsoleOptions { PollInterval = TimeSpan.FromMilliseconds(10) }) { Clock = clock };

        for (var round = 0; round < 5; round++)
        {
            await KeepUp(app);
            clock.Now += TimeSpan.FromMinutes(10);
        }

        Assert.Equal(1, signIns.Value);
        Assert.Contains("sign-in refused", Locked(state, () => state.Status), StringComparison.Ordinal);
    }

    [Fact]
    public async Task After_a_refused_sign_in_ctrl_r_takes_a_new_password_unseen_and_signs_in_with_it_keeping_the_reply_being_typed()
    {
        var signIns = new StrongBox<int>();
        await using var client = RefusingEverySignIn(signIns);
        var state = TwoSessions();
        var clock = new ManualClock();
        var passwords = new List<string>();
        using var app = new AgentApp(client, state, new ConsoleOptions { PollInterval = TimeSpan.FromMilliseconds(10) })
        {
            Clock = clock,
            UsePassword = passwords.Add,
        };

        await KeepUp(app);
        Assert.Equal(1, signIns.Value);
        Type(app, "one moment");

        // The password was changed while the console ran: Ctrl+R asks for the new one on the input line, the reply kept.
        PressControl(app, ConsoleKey.R);
        Paste(app, "new pass 1\n");
        Assert.Equal(["new pass 1"], passwords);
        lock (state.Sync)
        {
            Assert.Equal(InputMode.Reply, state.Mode);
            Assert.Equal("one moment", state.Input);
            Assert.Contains("signing in", state.Status, StringComparison.Ordinal);
        }

        // The next round signs in again, with it, without waiting out a pause.
        await KeepUp(app);
        Assert.Equal(2, signIns.Value);

        // Refused again (it was mistyped): asked once more. What is typed shows as stars, never as itself; Esc gives the
        // reply back and signs nobody in.
        PressControl(app, ConsoleKey.R);
        Type(app, "sec");
        // Another session is not chosen meanwhile: the line would take replies again, and the rest typed go to a customer.
        Press(app, ConsoleKey.Tab);
        Type(app, "ret");
        lock (state.Sync)
        {
            Assert.Equal(InputMode.Password, state.Mode);
            Assert.Equal((First, "secret"), (state.Selected, state.Input));
            var screen = string.Join("\n", ScreenText.Render(state, 120, 30));
            Assert.DoesNotContain("secret", screen, StringComparison.Ordinal);
            Assert.Contains("Password> ******", screen, StringComparison.Ordinal);
            Assert.DoesNotContain("one moment", screen, StringComparison.Ordinal);
        }

        Press(app, ConsoleKey.Escape);
        Assert.Equal("one moment", Locked(state, () => state.Input));
        clock.Now += TimeSpan.FromMinutes(10);
        await KeepUp(app);
        Assert.Equal(2, signIns.Value);
        Assert.Equal(["new pass 1"], passwords);
    }

    [Fact]
    public async Task Failed_reconnects_pause_longer_each_time()
    {
        var attempts = 0;
        await using var client = SigningInWith(() =>
        {
            Interlocked.Increment(ref attempts);
            return new HttpRequestException("the identity server is down");
        });
        var state = TwoSessions();
        var clock = new ManualClock();
        using var app = new AgentApp(client, state, new ConsoleOptions { PollInterval = TimeSpan.FromMilliseconds(10) }) { Clock = clock };

        await KeepUp(app);
        await KeepUp(app);
        Assert.Equal(1, attempts);
        Assert.Contains("next attempt in", Locked(state, () => state.Status), StringComparison.Ordinal);

        // The first pause is at most a second; the second at least 1.5 s (2 s less the jitter).
        clock.Now += ReconnectBackoff.First;
        await KeepUp(app);
        Assert.Equal(2, attempts);

        clock.Now += TimeSpan.FromSeconds(1.4);
        await KeepUp(app);
        Assert.Equal(2, attempts);

        clock.Now += TimeSpan.FromSeconds(0.6);
        await KeepUp(app);
        Assert.Equal(3, attempts);
    }

    private static async Task KeepUp(AgentApp app)
    {
        await app.KeepUpAsync();
        await app.Housekeeping.WaitAsync(Patience);
    }

    /// <summary>A send that records the reply and is never acked (a connection that is down).</summary>
    private static Func<UnsentReply, Task<SendAck>> Recording(List<UnsentReply> sends) => reply =>
    {
        lock (sends)
        {
            sends.Add(reply);
        }

        return new TaskCompletionSource<SendAck>().Task;
    };

    private static List<UnsentReply> Snapshot(List<UnsentReply> sends)
    {
        lock (sends)
        {
            return [.. sends];
        }
    }

    private static T Locked<T>(ConsoleState state, Func<T> read)
    {
        lock (state.Sync)
        {
            return read();
        }
    }

    private static async Task Eventually(Func<bool> condition)
    {
        var until = DateTime.UtcNow + Patience;
        while (!condition())
        {
            Assert.True(DateTime.UtcNow < until, "the condition did not hold in time");
            await Task.Delay(10);
        }
    }

    /// <summary>A client never connected: nothing goes over the network.</summary>
    private static ImClient Offline() => new(new ImClientOptions { Host = "127.0.0.1", Port = 1 });

    /// <summary>A client whose every sign-in is refused as a wrong password (401), counted in <paramref name="signIns"/>.</summary>
    private static ImClient RefusingEverySignIn(StrongBox<int> signIns) => SigningInWith(() =>
    {
        Interlocked.Increment(ref signIns.Value);
        return new ImAuthException(HttpStatusCode.Unauthorized, "invalid_credentials", "wrong user id or password");
    });

    /// <summary>A client whose every sign-in fails with what <paramref name="failure"/> makes.</summary>
    private static ImClient SigningInWith(Func<Exception> failure) => new(new ImClientOptions
    {
        Host = "127.0.0.1",
        Port = 1,
        TokenProvider = _ => Task.FromException<string>(failure()),
    });

    /// <summary>Two sessions listed (u1's selected).</summary>
    private static ConsoleState TwoSessions()
    {
        var state = new ConsoleState("agent", "shop")
        {
            View = new CsAgentView
            {
                Sessions = { new CsSession { ConversationId = First, UserId = "u1", SessionId = "s1" }, new CsSession { ConversationId = Second, UserId = "u2", SessionId = "s2" } },
            },
        };
        state.Move(0);
        return state;
    }
}
