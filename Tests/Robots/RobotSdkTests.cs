using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Robots;
using Orleans.Im.Robots.Hosting;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Robots;

/// <summary>The robots SDK in this process, as a robot of the edge fixture's real silo.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class RobotSdkTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_failing_handler_is_retried_the_message_answered_once_and_a_stopped_robot_goes_offline_and_signs_out()
    {
        var robot = Ids.User("flaky-bot");
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Flaky", null, [AccountRole.Robot])));
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);
        var handler = new FlakyHandler();
        using var host = BuildRobot(robot, handler);
        await host.StartAsync();
        try
        {
            var online = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));
            Assert.Single(online);

            var sent = await fixture.Orleans.GetGrain<IConversationGrain>(conversation)
                .SendAsync(new SendRequest(user, "phone", Ids.ClientMsgId(), MessageContent.FromText("try again")));
            Assert.Equal(SendStatus.Sent, sent.Status);
            var replies = await Eventually.ReturnsAsync(() => RepliesAsync(conversation, user, robot), r => r.Count > 0, TimeSpan.FromSeconds(30));
            Assert.Equal(["try again"], replies);
            Assert.Equal(2, handler.AttemptsAt(sent.Seq));
            var entry = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation), e => e?.UnreadCount == 0);
            Assert.Equal(0, entry?.UnreadCount);
        }
        finally
        {
            await host.StopAsync();
        }

        Assert.Empty(await fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync());
        Assert.Equal(["try again"], await RepliesAsync(conversation, user, robot));
    }

    [Fact]
    public async Task A_robot_account_with_a_password_needs_the_secret_and_a_user_account_may_not_run_as_a_robot()
    {
        var robot = Ids.User("secret-bot");
        await fixture.CreateAccountAsync(robot, AccountRole.Robot);
        var person = await fixture.NewUserAsync("person");
        foreach (var (id, secret) in new[] { (robot, "wrong"), (robot, (string?)null), (person, ApiCalls.Password) })
        {
            using var refused = BuildRobot(id, new FlakyHandler(), secret);
            var stopped = refused.Services.GetService(typeof(IHostApplicationLifetime)) as IHostApplicationLifetime;
            await refused.StartAsync();
            // A robot that may not sign in stops its process: the host's stopping token fires.
            var tcs = new TaskCompletionSource();
            using (stopped!.ApplicationStopping.Register(() => tcs.TrySetResult()))
            {
                await tcs.Task.WaitAsync(TimeSpan.FromSeconds(30));
            }

            await refused.StopAsync();
            Assert.Empty(await fixture.Orleans.GetGrain<IUserGrain>(id).GetDevicesAsync());
        }

        Environment.ExitCode = 0;
        using var allowed = BuildRobot(robot, new FlakyHandler(), ApiCalls.Password);
        await allowed.StartAsync();
        try
        {
            var devices = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));
            Assert.Equal("robot", Assert.Single(devices).Platform);
        }
        finally
        {
            await allowed.StopAsync();
        }
    }

    [Fact]
    public async Task A_second_process_of_a_robot_with_the_same_device_id_replaces_the_first()
    {
        var robot = Ids.User("twin-bot");
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Twin", null, [AccountRole.Robot])));
        using var first = BuildRobot(robot, new FlakyHandler());
        var firstLifetime = (IHostApplicationLifetime)first.Services.GetService(typeof(IHostApplicationLifetime))!;
        var firstStopping = new TaskCompletionSource();
        using var registration = firstLifetime.ApplicationStopping.Register(() => firstStopping.TrySetResult());
        await first.StartAsync();
        using var second = BuildRobot(robot, new FlakyHandler());
        try
        {
            var devices = fixture.Orleans.GetGrain<IUserGrain>(robot);
            var before = Assert.Single(await Eventually.ReturnsAsync(devices.GetDevicesAsync, d => d.Count == 1, TimeSpan.FromSeconds(30)));

            // A new deployment's process starts while the old one still runs: it takes the device, and the old one stops at
            // its next catch-up (each second here) instead of taking it back, which made both handle every message.
            await second.StartAsync();
            await firstStopping.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await first.StopAsync();

            // The second keeps it through its own catch-ups.
            await Task.Delay(TimeSpan.FromSeconds(3));
            var after = Assert.Single(await devices.GetDevicesAsync());
            Assert.NotEqual(before.ConnectionId, after.ConnectionId);
        }
        finally
        {
            await second.StopAsync();
        }
    }

    [Fact]
    public async Task A_robot_whose_session_ended_after_another_process_took_its_device_stops_instead_of_taking_it_back()
    {
        var robot = Ids.User("twin-bot");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(robot);
        Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount("Twin", null, [AccountRole.Robot])));
        using var first = BuildRobot(robot, new FlakyHandler());
        var firstLifetime = (IHostApplicationLifetime)first.Services.GetService(typeof(IHostApplicationLifetime))!;
        var firstStopping = new TaskCompletionSource();
        using var registration = firstLifetime.ApplicationStopping.Register(() => firstStopping.TrySetResult());
        await first.StartAsync();
        try
        {
            var devices = fixture.Orleans.GetGrain<IUserGrain>(robot);
            var before = Assert.Single(await Eventually.ReturnsAsync(devices.GetDevicesAsync, d => d.Count == 1, TimeSpan.FromSeconds(30)));

            // Between two of its catch-ups, its login session ends and another process (a new deployment's) takes the
            // device. The first signs in again: before, its new session connected and took the device back, and the other
            // stopped as replaced, leaving no robot once the old process was stopped.
            await account.EndSessionAsync(Assert.Single(await account.GetSessionsAsync()).SessionId);
            var other = before with { ConnectionId = Guid.NewGuid().ToString("N") };
            await devices.ConnectDeviceAsync(other, null);

            await firstStopping.Task.WaitAsync(TimeSpan.FromSeconds(30));
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(other.ConnectionId, Assert.Single(await devices.GetDevicesAsync()).ConnectionId);
        }
        finally
        {
            await first.StopAsync();
        }
    }

    [Fact]
    public async Task A_handler_that_times_out_holds_its_question_and_answers_it_once_it_can()
    {
        var robot = await NewRobotAsync("slow-bot");
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);

        // Its backend times out four times (HttpClient's way: a cancellation with a timeout inside), more than the three
        // attempts a handler's own failures get. Before, the fourth was never made: the question was marked read, unanswered.
        var handler = new ScriptedHandler(async (message, attempt, _) =>
        {
            if (attempt <= 4)
            {
                throw new TaskCanceledException("the backend did not answer", new TimeoutException());
            }

            (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
        });
        using var host = await StartRobotAsync(robot, handler);
        try
        {
            var sent = await AskAsync(conversation, user, "where is my order?");

            var replies = await Eventually.ReturnsAsync(() => RepliesAsync(conversation, user, robot), r => r.Count > 0, TimeSpan.FromSeconds(60));
            Assert.Equal(["where is my order?"], replies);
            Assert.Equal(5, handler.AttemptsAt(conversation, sent.Seq));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_question_that_keeps_timing_out_is_given_up_on_after_the_wait_limit_and_the_next_one_is_answered()
    {
        var robot = await NewRobotAsync("stuck-bot");
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);

        // Its backend always times out on this one question (a passing failure, tried again and again).
        var handler = new ScriptedHandler(async (message, _, _) =>
        {
            if (message.Message.Content!.Text == "the cursed one")
            {
                throw new TaskCanceledException("the backend did not answer", new TimeoutException());
            }

            (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
        });
        using var host = await StartRobotAsync(robot, handler, o => o.GiveUpWaitingAfter = TimeSpan.FromSeconds(2));
        try
        {
            var cursed = await AskAsync(conversation, user, "the cursed one");
            var next = await AskAsync(conversation, user, "and this one?");

            // Before, the first held the conversation for ever: the one after it was never answered.
            Assert.Equal(["and this one?"], await Eventually.ReturnsAsync(() => RepliesAsync(conversation, user, robot), r => r.Count == 1, TimeSpan.FromSeconds(60)));
            var attempts = handler.AttemptsAt(conversation, cursed.Seq);
            Assert.True(attempts >= 2, $"tried {attempts} times");
            // Read past both questions (and, once the robot's next pump passes it, its own reply).
            var entry = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation), e => e?.UnreadCount == 0);
            Assert.True(entry!.ReadSeq > next.Seq, $"read up to {entry.ReadSeq}, the last question is {next.Seq}");

            // Given up on means given up: not tried again at the next catch-up.
            await Task.Delay(TimeSpan.FromSeconds(3));
            Assert.Equal(attempts, handler.AttemptsAt(conversation, cursed.Seq));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_robot_in_a_group_answers_each_member_quoting_their_question()
    {
        var robot = await NewRobotAsync("group-bot");
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var group = await fixture.Orleans.CreateGroupAsync(alice, bob, robot);
        var handler = new ScriptedHandler(async (message, _, _) =>
            (await message.ReplyTextAsync($"answer to {message.Text}", quote: true)).ThrowIfRetryable());
        using var host = await StartRobotAsync(robot, handler);
        try
        {
            var fromAlice = await AskAsync(group, alice, "opening hours?");
            var fromBob = await AskAsync(group, bob, "do you ship abroad?");

            var replies = await Eventually.ReturnsAsync(async () => (await fixture.Orleans.PullAllAsync(group, alice)).Where(m => m.SenderId == robot).ToList(),
                r => r.Count == 2, TimeSpan.FromSeconds(30));
            Assert.Equal([("answer to opening hours?", (long?)fromAlice.Seq), ("answer to do you ship abroad?", fromBob.Seq)],
                replies.Select(r => (r.Content!.Text, r.Content.ReplyToSeq)));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_graceful_stop_lets_a_handler_in_flight_finish_its_answer()
    {
        var robot = await NewRobotAsync("busy-bot");
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);
        var inHandler = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var handler = new ScriptedHandler(async (message, _, cancellationToken) =>
        {
            inHandler.TrySetResult();
            // Work that takes the token, as a call to a backend does; the stop comes meanwhile.
            await Task.Delay(TimeSpan.FromSeconds(2), cancellationToken);
            (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
        });
        using var host = await StartRobotAsync(robot, handler);
        var sent = await AskAsync(conversation, user, "one moment");
        await inHandler.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Before, the handler's token was the stop's: its work was cancelled at once, the question left for a restart
        // that would run the handler again.
        await host.StopAsync();

        Assert.Equal(["one moment"], await RepliesAsync(conversation, user, robot));
        Assert.Equal(1, handler.AttemptsAt(conversation, sent.Seq));
        var entry = await fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation);
        Assert.True(entry!.ReadSeq >= sent.Seq, $"read up to {entry.ReadSeq}, the question is {sent.Seq}");
    }

    [Fact]
    public async Task A_restarted_robot_runs_its_handler_again_only_for_a_question_whose_handler_did_not_finish()
    {
        var robot = await NewRobotAsync("restart-bot");
        var (done, cut) = (Ids.User("done"), Ids.User("cut"));
        var (answered, interrupted) = (GrainKeys.P2P(done, robot), GrainKeys.P2P(cut, robot));

        // Every question is echoed; the first attempt at "long job" replies, then works on until the stop cuts it short.
        var handler = new ScriptedHandler(async (message, attempt, cancellationToken) =>
        {
            (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
            if (message.Message.Content!.Text == "long job" && attempt == 1)
            {
                await Task.Delay(Timeout.InfiniteTimeSpan, cancellationToken);
            }
        });
        var first = await AskAsync(answered, done, "quick question");
        SendResult cutShort;
        using (var host = await StartRobotAsync(robot, handler))
        {
            await Eventually.UntilAsync(() => RepliesAsync(answered, done, robot), r => r.Count == 1, TimeSpan.FromSeconds(30));
            await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(answered), e => e?.UnreadCount == 0);
            cutShort = await AskAsync(interrupted, cut, "long job");
            await Eventually.UntilAsync(() => RepliesAsync(interrupted, cut, robot), r => r.Count == 1, TimeSpan.FromSeconds(30));
            await host.StopAsync();
            Assert.Equal(1, handler.AttemptsAt(interrupted, cutShort.Seq));
        }

        using (var host = await StartRobotAsync(robot, handler))
        {
            try
            {
                var second = await AskAsync(answered, done, "another one");
                await Eventually.UntilAsync(() => RepliesAsync(answered, done, robot), r => r.Count == 2, TimeSpan.FromSeconds(30));
                await Eventually.UntilAsync(() => Task.FromResult(handler.AttemptsAt(interrupted, cutShort.Seq)), n => n == 2, TimeSpan.FromSeconds(30));

                // The question answered before the restart is not handled again (before, its reply had moved the read
                // position, which then could not tell a finished handler from one that died after replying, and every new
                // cursor ran it again); the one whose handler was cut short is, and its reply is stored once.
                Assert.Equal((1, 1), (handler.AttemptsAt(answered, first.Seq), handler.AttemptsAt(answered, second.Seq)));
                Assert.Equal(["quick question", "another one"], await RepliesAsync(answered, done, robot));
                Assert.Equal(["long job"], await RepliesAsync(interrupted, cut, robot));
            }
            finally
            {
                await host.StopAsync();
            }
        }
    }

    [Fact]
    public async Task A_handler_that_hangs_is_given_up_on_after_its_timeout_and_frees_its_slot_for_other_conversations()
    {
        var robot = await NewRobotAsync("hung-bot");
        var (stuck, other) = (Ids.User("stuck"), Ids.User("other"));
        var (hanging, waiting) = (GrainKeys.P2P(stuck, robot), GrainKeys.P2P(other, robot));

        // One slot, and a first attempt that never returns and ignores its token (a call without a timeout).
        var handler = new ScriptedHandler(async (message, attempt, _) =>
        {
            if (message.Message.ConversationId == hanging && attempt == 1)
            {
                await new TaskCompletionSource().Task;
            }

            (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
        });
        using var host = await StartRobotAsync(robot, handler, o =>
        {
            o.MaxConcurrency = 1;
            o.HandlerTimeout = TimeSpan.FromSeconds(1);
        });
        try
        {
            await AskAsync(hanging, stuck, "hello?");
            await Eventually.UntilAsync(() => Task.FromResult(handler.AttemptsAt(hanging, 1)), n => n == 1, TimeSpan.FromSeconds(30));
            await AskAsync(waiting, other, "me too");

            // Before, the hung handler held the only slot for ever: nobody was answered again, and the robot looked online.
            Assert.Equal(["me too"], await Eventually.ReturnsAsync(() => RepliesAsync(waiting, other, robot), r => r.Count == 1, TimeSpan.FromSeconds(30)));
            Assert.Equal(["hello?"], await Eventually.ReturnsAsync(() => RepliesAsync(hanging, stuck, robot), r => r.Count == 1, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    private async Task<string> NewRobotAsync(string name)
    {
        var robot = Ids.User(name);
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount(name, null, [AccountRole.Robot])));
        return robot;
    }

    /// <summary>A robot host, started, once its device is online.</summary>
    private async Task<IHost> StartRobotAsync(string robotId, IRobotHandler handler, Action<RobotOptions>? configure = null)
    {
        var host = BuildRobot(robotId, handler, configure: configure);
        await host.StartAsync();
        await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robotId).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));
        return host;
    }

    /// <summary>A user's question to the robot, from their phone; stored.</summary>
    private async Task<SendResult> AskAsync(string conversation, string user, string text)
    {
        var sent = await fixture.Orleans.GetGrain<IConversationGrain>(conversation)
            .SendAsync(new SendRequest(user, "phone", Ids.ClientMsgId(), MessageContent.FromText(text)));
        Assert.Equal(SendStatus.Sent, sent.Status);
        return sent;
    }

    private IHost BuildRobot(string robotId, IRobotHandler handler, string? secret = null, Action<RobotOptions>? configure = null)
    {
        var builder = RobotTestHost.Builder(fixture);
        builder.AddImRobot(handler, o =>
        {
            o.RobotId = robotId;
            o.Secret = secret;
            configure?.Invoke(o);
        });
        return builder.Build();
    }

    private Task<IReadOnlyList<string?>> RepliesAsync(string conversation, string user, string robot) =>
        RobotTestHost.RepliesAsync(fixture, conversation, user, robot);

    /// <summary>A robot's behaviour given by the test, called with the attempt at the message (1 first); it counts them.</summary>
    private sealed class ScriptedHandler(Func<RobotMessage, int, CancellationToken, Task> handle) : IRobotHandler
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<(string, long), int> _attempts = new();

        public int AttemptsAt(string conversationId, long seq) => _attempts.GetValueOrDefault((conversationId, seq));

        public Task HandleAsync(RobotMessage message, CancellationToken cancellationToken) =>
            handle(message, _attempts.AddOrUpdate((message.Message.ConversationId, message.Message.Seq), 1, (_, n) => n + 1), cancellationToken);
    }
}
