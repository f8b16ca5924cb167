using System.Reflection;
using System.Runtime.ExceptionServices;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Robots;
using Orleans.Im.Robots.Hosting;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Robots;

/// <summary>
/// A robot whose pulls meet a storage outage (the conversation answers <see cref="AccessStatus.Unavailable"/>) answers the
/// question once storage is back, although the conversation does not change again. The outage is played by the robot's
/// own cluster client, which answers its pulls Unavailable until the robot has caught up three times since the first.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class RobotStorageOutageTests(EdgeFixture fixture)
{
    [Fact]
    public async Task A_question_pulled_during_a_storage_outage_is_answered_at_a_catch_up_after_it()
    {
        var robot = Ids.User("outage-bot");
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Outage", null, [AccountRole.Robot])));
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);
        var outage = new PullOutage(conversation);
        using var host = BuildRobot(robot, outage);
        await host.StartAsync();
        try
        {
            var online = await Eventually.ReturnsAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));
            Assert.Single(online);

            var sent = await fixture.Orleans.GetGrain<IConversationGrain>(conversation)
                .SendAsync(new SendRequest(user, "phone", Ids.ClientMsgId(), MessageContent.FromText("anyone there?")));
            Assert.Equal(SendStatus.Sent, sent.Status);

            // The pulls fail until three catch-ups ran after the first failure: by then the catch-ups have synced the
            // change, so only a cursor the robot kept (stalled) brings it back to the question.
            Assert.True(await Eventually.ReturnsAsync(() => Task.FromResult(outage.Over), over => over, TimeSpan.FromSeconds(30)), "the outage never ended");
            Assert.True(outage.FailedPulls > 0);
            var replies = await Eventually.ReturnsAsync(() => RepliesAsync(conversation, user, robot), r => r.Count > 0, TimeSpan.FromSeconds(20));
            Assert.Equal(["anyone there?"], replies);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_reply_refused_while_storage_fails_over_is_sent_once_it_is_back_however_many_tries_that_takes()
    {
        var robot = Ids.User("failover-bot");
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Failover", null, [AccountRole.Robot])));
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);
        // More refusals than the robot gives a failing handler: a refused reply is no failure of the handler.
        var outage = new ReplyOutage(conversation, refusals: 5);
        using var host = BuildRobot(robot, outage.Wrap, catchUpInterval: "00:00:01");
        await host.StartAsync();
        try
        {
            await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));
            var sent = await fixture.Orleans.GetGrain<IConversationGrain>(conversation)
                .SendAsync(new SendRequest(user, "phone", Ids.ClientMsgId(), MessageContent.FromText("is my order shipped?")));
            Assert.Equal(SendStatus.Sent, sent.Status);

            var replies = await Eventually.ReturnsAsync(() => RepliesAsync(conversation, user, robot), r => r.Count > 0, TimeSpan.FromSeconds(60));
            Assert.Equal(["is my order shipped?"], replies);
            // Five refused, one stored.
            Assert.Equal(6, outage.Sends);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_robot_registers_its_device_under_a_lease_and_renews_it_so_a_robot_that_dies_goes_offline()
    {
        var robot = Ids.User("lease-bot");
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Lease", null, [AccountRole.Robot])));
        var registrations = new System.Collections.Concurrent.ConcurrentQueue<(string Method, DeviceSession Device)>();
        using var host = BuildRobot(robot, UserGrainSeenThrough(robot, (m, a, c) =>
        {
            if (m.Name is nameof(IUserGrain.ConnectDeviceAsync) or nameof(IUserGrain.RenewDeviceAsync) && a[0] is DeviceSession device)
            {
                registrations.Enqueue((m.Name, device));
            }

            return c();
        }), catchUpInterval: "00:00:01");
        await host.StartAsync();
        try
        {
            // Before, the robot's device had no lease: a robot process killed stayed online for good, and its shop's queue
            // went on handing customers to it. Leased, it lapses unless renewed, and the robot renews it.
            await Eventually.UntilAsync(() => Task.FromResult(registrations.Count(r => r.Method == nameof(IUserGrain.RenewDeviceAsync))), n => n >= 2, TimeSpan.FromSeconds(30));
            Assert.Equal(nameof(IUserGrain.ConnectDeviceAsync), registrations.First().Method);
            Assert.All(registrations, r => Assert.True(r.Device.EdgeRenewsLease, $"{r.Method} without a lease"));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_read_mark_storage_did_not_take_is_made_again_at_a_catch_up()
    {
        // More than the marks of the handling and of the one catch-up that finds the conversation changed: after those,
        // nothing but the robot's own record of an unmarked cursor brings it back.
        const int RefusedMarks = 6;
        var robot = Ids.User("mark-bot");
        Assert.Equal(AccessStatus.Ok, await fixture.Orleans.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Mark", null, [AccountRole.Robot])));
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);
        var refused = 0;
        // A robot that handles without replying (a reply would change the conversation, and its sync bring the robot back
        // to it anyway). The user grain answers its first marks Unavailable (its index save failed, for longer than a
        // catch-up interval), as it does without throwing.
        var handled = new SilentHandler();
        using var host = BuildRobot(robot, UserGrainSeenThrough(robot, (m, a, c) =>
            m.Name == nameof(IUserGrain.MarkReadAsync) && Equals(a[0], conversation) && Interlocked.Increment(ref refused) <= RefusedMarks
                ? Task.FromResult(new MarkReadResult(AccessStatus.Unavailable, null))
                : c()), catchUpInterval: "00:00:01", handler: handled);
        await host.StartAsync();
        try
        {
            await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));
            var sent = await fixture.Orleans.GetGrain<IConversationGrain>(conversation)
                .SendAsync(new SendRequest(user, "phone", Ids.ClientMsgId(), MessageContent.FromText("hello?")));
            await Eventually.UntilAsync(() => Task.FromResult(handled.Count), n => n == 1, TimeSpan.FromSeconds(20));

            // Before, the refused mark was taken as made: the robot's read position stayed before the question it had
            // answered, and a restart (or its cursor retired when idle) ran the handler again. Now the catch-up marks it.
            await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetConversationAsync(conversation),
                e => e?.ReadSeq >= sent.Seq, TimeSpan.FromSeconds(30));
            Assert.True(Volatile.Read(ref refused) > RefusedMarks);
            Assert.Equal(1, handled.Count);
        }
        finally
        {
            await host.StopAsync();
        }
    }

    [Fact]
    public async Task A_registration_whose_answer_was_lost_and_whose_leave_failed_is_not_taken_for_another_process()
    {
        var robot = Ids.User("lost-answer-bot");
        var account = fixture.Orleans.GetGrain<IAccountGrain>(robot);
        Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount("Lost", null, [AccountRole.Robot])));
        var connects = 0;
        var disconnectsRefused = 0;
        // The second registration reaches the user grain but its answer is lost; the leave after it fails too.
        using var host = BuildRobot(robot, UserGrainSeenThrough(robot, (m, _, c) =>
        {
            if (m.Name == nameof(IUserGrain.ConnectDeviceAsync) && Interlocked.Increment(ref connects) == 2)
            {
                return ((Task<bool>)c()!).ContinueWith<bool>(_ => throw new TimeoutException("the answer was lost"), TaskScheduler.Default);
            }

            if (m.Name == nameof(IUserGrain.DisconnectDeviceAsync) && Volatile.Read(ref connects) == 2 && Interlocked.Increment(ref disconnectsRefused) == 1)
            {
                return Task.FromException(new TimeoutException("the cluster did not answer"));
            }

            return c();
        }), catchUpInterval: "00:00:01");
        var lifetime = host.Services.GetRequiredService<IHostApplicationLifetime>();
        await host.StartAsync();
        try
        {
            await Eventually.UntilAsync(() => fixture.Orleans.GetGrain<IUserGrain>(robot).GetDevicesAsync(), d => d.Count == 1, TimeSpan.FromSeconds(30));

            // Its login session ended (an administrator's kick): it signs in again, and the registration of that session
            // goes as above. Before, the next session found the device under that registration, took it for another
            // process of the robot's, and stopped this one for good (exit code 0: no supervisor restarted it).
            var session = Assert.Single(await account.GetSessionsAsync());
            await account.EndSessionAsync(session.SessionId);
            await Eventually.UntilAsync(() => Task.FromResult(Volatile.Read(ref connects)), n => n >= 3, TimeSpan.FromSeconds(60));
            Assert.False(lifetime.ApplicationStopping.IsCancellationRequested, "the robot stopped as replaced");

            var user = Ids.User("user");
            var conversation = GrainKeys.P2P(user, robot);
            await fixture.Orleans.GetGrain<IConversationGrain>(conversation)
                .SendAsync(new SendRequest(user, "phone", Ids.ClientMsgId(), MessageContent.FromText("still there?")));
            Assert.Equal(["still there?"], await Eventually.ReturnsAsync(() => RepliesAsync(conversation, user, robot), r => r.Count > 0, TimeSpan.FromSeconds(30)));
        }
        finally
        {
            await host.StopAsync();
        }
    }

    /// <summary>A robot client whose calls of its own user grain go through <paramref name="handle"/> (the others as they are).</summary>
    private static Func<IClusterClient, IClusterClient> UserGrainSeenThrough(string robotId, Func<MethodInfo, object?[], Func<object?>, object?> handle) =>
        client => Intercepting.Create(client, (method, args, call) =>
        {
            var grain = call();
            return method.Name == nameof(IGrainFactory.GetGrain) && grain is IUserGrain user && Equals(args[0], robotId)
                ? Intercepting.Create<IUserGrain>(user, handle)
                : grain;
        });

    private IHost BuildRobot(string robotId, PullOutage outage) => BuildRobot(robotId, outage.Wrap);

    private IHost BuildRobot(string robotId, Func<IClusterClient, IClusterClient> wrap, string? catchUpInterval = null, IRobotHandler? handler = null)
    {
        var builder = RobotTestHost.Builder(fixture);
        if (catchUpInterval is not null)
        {
            builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?> { ["IM:Robot:CatchUpInterval"] = catchUpInterval });
        }

        builder.AddImRobot(handler ?? new EchoHandler(), o => o.RobotId = robotId);

        // The robot gets the real client wrapped: its conversation and user grains are seen through the outage.
        var real = builder.Services.Last(d => d.ServiceType == typeof(IClusterClient));
        builder.Services.Remove(real);
        builder.Services.AddSingleton(sp => wrap(
            (IClusterClient)(real.ImplementationInstance ?? real.ImplementationFactory?.Invoke(sp)
                ?? ActivatorUtilities.CreateInstance(sp, real.ImplementationType!))));
        return builder.Build();
    }

    /// <summary>Storage failing over for one conversation's sends: the first <c>refusals</c> are answered unavailable.</summary>
    private sealed class ReplyOutage(string conversationId, int refusals)
    {
        private int _sends;

        public int Sends => Volatile.Read(ref _sends);

        public IClusterClient Wrap(IClusterClient client) =>
            Intercepting.Create(client, (method, args, call) =>
            {
                var grain = call();
                return method.Name == nameof(IGrainFactory.GetGrain) && grain is IConversationGrain conversation && Equals(args[0], conversationId)
                    ? Intercepting.Create<IConversationGrain>(conversation, (m, _, c) =>
                        m.Name == nameof(IConversationGrain.SendAsync) && Interlocked.Increment(ref _sends) <= refusals
                            ? Task.FromResult(SendResult.Refused(SendStatus.Unavailable, "storage unavailable; retry with the same clientMsgId"))
                            : c())
                    : grain;
            });
    }

    private Task<IReadOnlyList<string?>> RepliesAsync(string conversation, string user, string robot) =>
        RobotTestHost.RepliesAsync(fixture, conversation, user, robot);

    /// <summary>Handles without replying, counting what it handled.</summary>
    private sealed class SilentHandler : IRobotHandler
    {
        private int _count;

        public int Count => Volatile.Read(ref _count);

        public Task HandleAsync(RobotMessage message, CancellationToken cancellationToken)
        {
            Interlocked.Increment(ref _count);
            return Task.CompletedTask;
        }
    }

    private sealed class EchoHandler : IRobotHandler
    {
        public async Task HandleAsync(RobotMessage message, CancellationToken cancellationToken) =>
            (await message.ReplyAsync(message.Message.Content!)).ThrowIfRetryable();
    }

    /// <summary>Storage down for one conversation's pulls, until the robot synced three times after the first failed pull.</summary>
    private sealed class PullOutage(string conversationId)
    {
        private const int SyncsUntilOver = 3;
        private int _failedPulls;
        private int _syncsSinceFailure;

        public int FailedPulls => Volatile.Read(ref _failedPulls);

        public bool Over => Volatile.Read(ref _syncsSinceFailure) >= SyncsUntilOver;

        public IClusterClient Wrap(IClusterClient client) =>
            Intercepting.Create(client, (method, args, call) =>
            {
                var grain = call();
                return method.Name == nameof(IGrainFactory.GetGrain) && grain is IConversationGrain conversation && Equals(args[0], conversationId)
                    ? Intercepting.Create<IConversationGrain>(conversation, (m, _, c) => m.Name == nameof(IConversationGrain.PullAsync) && !Over ? (object)Fail() : c())
                    : grain is IUserGrain user
                    ? (object)Intercepting.Create<IUserGrain>(user, (m, _, c) =>
                    {
                        if (m.Name == nameof(IUserGrain.SyncAsync) && FailedPulls > 0)
                        {
                            Interlocked.Increment(ref _syncsSinceFailure);
                        }

                        return c();
                    })
                    : grain;
            });

        private Task<PullResult> Fail()
        {
            Interlocked.Increment(ref _failedPulls);
            return Task.FromResult(new PullResult(AccessStatus.Unavailable, [], 0));
        }
    }
}

/// <summary>Hands every call of an interface to a function that may answer it or let it through (<c>call</c>).</summary>
internal static class Intercepting
{
    public static T Create<T>(T inner, Func<MethodInfo, object?[], Func<object?>, object?> handle)
        where T : class
    {
        var proxy = DispatchProxy.Create<T, InterceptingProxy<T>>();
        ((InterceptingProxy<T>)(object)proxy).Start(inner, handle);
        return proxy;
    }
}

// Not sealed: DispatchProxy derives the proxy type from it.
#pragma warning disable CA1852
internal class InterceptingProxy<T> : DispatchProxy
#pragma warning restore CA1852
    where T : class
{
    private T _inner = null!;
    private Func<MethodInfo, object?[], Func<object?>, object?> _handle = null!;

    public void Start(T inner, Func<MethodInfo, object?[], Func<object?>, object?> handle) => (_inner, _handle) = (inner, handle);

    protected override object? Invoke(MethodInfo? targetMethod, object?[]? args)
    {
        ArgumentNullException.ThrowIfNull(targetMethod);
        var arguments = args ?? [];
        return _handle(targetMethod, arguments, () =>
        {
            try
            {
                return targetMethod.Invoke(_inner, arguments);
            }
            catch (TargetInvocationException ex) when (ex.InnerException is not null)
            {
                ExceptionDispatchInfo.Capture(ex.InnerException).Throw();
                throw;
            }
        });
    }
}
