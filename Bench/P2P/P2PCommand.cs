using System.Globalization;
using Orleans.Im.Bench.Load;
using Orleans.Im.Bench.Statistics;

namespace Orleans.Im.Bench.P2P;

/// <summary>
/// <c>p2p</c> (TCP, through the generator's lean client or the SDK) and <c>signalr</c> (the same over the chat hub): N users online, each message from a
/// random user to a random other in their one-to-one conversation, at an aggregate rate for a duration; repeated runs
/// over the same signed-in users. Reports sent, acked, delivered, lost, duplicates, and send→ack and send→deliver latency.
/// </summary>
public static class P2PCommand
{
    public const string OptionsHelp = """
        p2p / signalr options (a deployment must be running; lift the per-user send limits for load, e.g.
        IM__Edge__UserSendRatePerSecond=0 IM__Conversations__SendRatePerSecond=100000 IM__Conversations__SendBurst=100000 ./deploy/run.sh):
          --users N                 users online (1000)
          --rate R                  messages per second, all users together (1000)
          --seconds D               send phase of a run (20)
          --runs K                  measured runs after one warm-up run of 5 s (3)
          --body-bytes B            text length (40)
          --partners K              each user talks to K fixed others (4), so the warm-up activates every conversation
                                    and the runs measure steady state, not first messages (0: any other user)
        """ + TcpClientOption.OptionsHelp;

    private static readonly string[] OwnOptions = ["users", "rate", "seconds", "runs", "body-bytes", "partners", TcpClientOption.Name];
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(IReadOnlyList<string> args, Transport transport)
    {
        var options = CommandLineOptions.Parse(args, [.. OwnOptions, .. LoadTarget.OptionNames]);
        var target = LoadTarget.From(options);
        var userCount = options.GetInt("users", 1000, 2, 19_000);
        var rate = options.GetInt("rate", 1000, 1, 1_000_000);
        var seconds = options.GetInt("seconds", 20, 1, 3600);
        var runs = options.GetInt("runs", 3, 1, 100);
        var bodyBytes = options.GetInt("body-bytes", 40, 1, 16_000);
        var partners = options.GetInt("partners", 4, 0, 1000);
        var scenario = transport == Transport.SignalR ? "signalr" : "p2p";
        if (transport != Transport.SignalR)
        {
            transport = TcpClientOption.From(options);
        }

        var tokens = await BenchTokens.LoadAsync(target.SigningKeyFile);
        var sink = new DeliverySink();
        using var hosts = new HostMetricsReader(target.MetricsUrls);
        var prefix = $"{scenario}-{Guid.NewGuid().ToString("N")[..6]}";
        Console.WriteLine($"{scenario}: signing in {userCount} users …");
        var users = await BenchUsers.ConnectAsync(transport, [.. Enumerable.Range(0, userCount).Select(i => $"{prefix}-{i}")], target, tokens, sink);
        try
        {
            var route = RandomPairs(users, partners);
            Console.WriteLine($"warm-up: {WarmUp.TotalSeconds:0} s at {rate}/s");
            var (delivered, p99s) = await MessagingRun.MeasureAsync(rate, WarmUp, TimeSpan.FromSeconds(seconds), runs, route, sink, hosts,
                bodyBytes, target.ResultsFile, run => new RunReport(scenario).Set("client", TcpClientOption.NameOf(transport)).Set("run", run)
                    .Set("users", userCount).Set("rate", rate).Set("bodyBytes", bodyBytes).Set("partners", partners)
                    .Line($"{scenario} run {run}/{runs}: {userCount} users, {rate} msg/s offered, {bodyBytes}-byte bodies"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"{scenario} over {runs} runs: delivered/s {RunSpread.Of(delivered).Format("0")}, send→deliver p99 ms {RunSpread.Of(p99s).Format("0.0")} (median (min–max))"));
            return 0;
        }
        finally
        {
            await BenchUsers.DisconnectAsync(users);
        }
    }

    /// <summary>
    /// A random sender and a random other recipient, in their one-to-one conversation (one delivery each). With
    /// <paramref name="partners"/> &gt; 0 the recipient is one of the sender's fixed partners (i ± 1 … i ± K/2, wrapping).
    /// </summary>
    public static Func<Random, MessageRoute> RandomPairs(IReadOnlyList<IBenchUser> users, int partners)
    {
        ArgumentNullException.ThrowIfNull(users);
        var half = Math.Max(1, partners / 2);
        return random =>
        {
            var from = random.Next(users.Count);
            int to;
            if (partners > 0 && users.Count > 2 * half)
            {
                var offset = random.Next(1, half + 1);
                to = (from + (random.Next(2) == 0 ? offset : users.Count - offset)) % users.Count;
            }
            else
            {
                to = random.Next(users.Count - 1);
                if (to >= from)
                {
                    to++;
                }
            }

            return new MessageRoute(users[from], GrainKeys.P2P(users[from].UserId, users[to].UserId), 1, users[to].UserId);
        };
    }
}
