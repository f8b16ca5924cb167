using System.Globalization;
using Orleans.Im.Bench.Load;
using Orleans.Im.Bench.Statistics;

namespace Orleans.Im.Bench.Rooms;

/// <summary>
/// <c>room</c>: chat-room fan-out through a running deployment. M members online over TCP join one room; random members
/// send at an aggregate open-loop rate, each message owed to the other M − 1 members. Room messages are not stored: an
/// ack means the room grain took the message, and "delivered" counts the pushes that reached the members' sockets.
/// Reports deliveries per second, lost, duplicates and send→deliver latency, one JSON line per run.
/// </summary>
public static class RoomCommand
{
    public const string OptionsHelp = """
        room options (lift the room send limits, e.g. IM__Rooms__SendRatePerSecond=100000 IM__Rooms__SendBurst=100000 IM__Rooms__RoomSendRatePerSecond=100000 IM__Rooms__RoomSendBurst=100000):
          --members M               members online in the room, sending and receiving (1000)
          --rate R                  messages per second into the room (50)
          --seconds D               send phase of a run (20)
          --runs K                  measured runs after one warm-up run of 5 s (3)
          --body-bytes B            text length (40)
        """ + TcpClientOption.OptionsHelp;

    /// <summary>Members at most: one generator process holds about 19,900 sockets (the open-files cap).</summary>
    private const int MaxMembers = 19_000;

    /// <summary>Joins in flight at once (each is one room-grain call through the member's edge).</summary>
    private const int JoinConcurrency = 100;

    private static readonly string[] OwnOptions = ["members", "rate", "seconds", "runs", "body-bytes", TcpClientOption.Name];
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = CommandLineOptions.Parse(args, [.. OwnOptions, .. LoadTarget.OptionNames]);
        var target = LoadTarget.From(options);
        var members = options.GetInt("members", 1000, 2, MaxMembers);
        var rate = options.GetInt("rate", 50, 1, 1_000_000);
        var seconds = options.GetInt("seconds", 20, 1, 3600);
        var runs = options.GetInt("runs", 3, 1, 100);
        var bodyBytes = options.GetInt("body-bytes", 40, 1, 16_000);
        var transport = TcpClientOption.From(options);

        var tokens = await BenchTokens.LoadAsync(target.SigningKeyFile);
        var prefix = $"room-{Guid.NewGuid().ToString("N")[..6]}";
        var roomId = $"room:{prefix}";
        var sink = new DeliverySink();
        using var hosts = new HostMetricsReader(target.MetricsUrls);
        Console.WriteLine($"room {roomId}: signing in {members} members …");
        var users = await BenchUsers.ConnectAsync(transport, [.. Enumerable.Range(0, members).Select(i => $"{prefix}-{i}")], target, tokens, sink);
        try
        {
            await JoinAllAsync(users, roomId);
            MessageRoute Route(Random random) => new(users[random.Next(users.Count)], roomId, members - 1);
            var (delivered, p99s) = await MessagingRun.MeasureAsync(rate, WarmUp, TimeSpan.FromSeconds(seconds), runs, Route, sink, hosts,
                bodyBytes, target.ResultsFile, run => new RunReport("room").Set("client", TcpClientOption.NameOf(transport)).Set("run", run)
                    .Set("members", members).Set("rate", rate).Set("bodyBytes", bodyBytes)
                    .Line($"room run {run}/{runs}: {members} members online, {rate} msg/s offered"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"room over {runs} runs: {RunSpread.Of(delivered).Format("0")} deliveries/s, send→deliver p99 ms {RunSpread.Of(p99s).Format("0.0")} (median (min–max))"));
            return 0;
        }
        finally
        {
            await BenchUsers.DisconnectAsync(users);
        }
    }

    private static async Task JoinAllAsync(List<IBenchUser> users, string roomId)
    {
        using var gate = new SemaphoreSlim(JoinConcurrency);
        var refused = 0;
        await Task.WhenAll(users.Select(async user =>
        {
            await gate.WaitAsync();
            try
            {
                if (!await user.JoinRoomAsync(roomId))
                {
                    Interlocked.Increment(ref refused);
                }
            }
            finally
            {
                gate.Release();
            }
        }));

        if (refused > 0)
        {
            // Every member must be in the room, or the owed deliveries would count as lost.
            throw new InvalidOperationException($"{refused} of {users.Count} members could not join {roomId}");
        }
    }
}
