using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Im.Bench.Statistics;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Bench.Rooms;

/// <summary>
/// <c>rooms</c>: chat-room fan-out through a running deployment (<c>deploy/run.sh</c>). N SDK clients over TCP join one
/// room; S of them send M messages each at once; a run lasts from the first send until every client holds every message.
/// Reported: deliveries per second (messages × clients / run time), the median of several runs.
/// </summary>
public static class RoomFanoutCommand
{
    public const string OptionsHelp = """
        rooms options (a deployment must be running: ./deploy/run.sh; raise its room send limit, e.g.
        IM__Rooms__SendRatePerSecond=1000 IM__Rooms__SendBurst=1000 ./deploy/run.sh):
          --edge HOST:PORT          the edge host's TCP endpoint (127.0.0.1:5090)
          --signing-key-file PATH   the deployment's token key (.data/dev/signing-key, written by run.sh)
          --clients N               clients in the room (1000)
          --senders S               clients that send in each run (10)
          --messages M              messages per sender per run (20)
          --runs R                  measured runs after one warm-up (5)
        """;

    private static readonly TimeSpan RunTimeout = TimeSpan.FromMinutes(2);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = ParseOptions(args);
        if (options is null)
        {
            await Console.Error.WriteLineAsync(OptionsHelp);
            return 2;
        }

        var key = (await File.ReadAllTextAsync(options.SigningKeyFile)).Trim();
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = key }), TimeProvider.System);
        var endpoint = options.Edge.Split(':');
        var run = Guid.NewGuid().ToString("N")[..8];
        var roomId = "room:bench-" + run;
        var clients = new List<ImClient>();
        try
        {
            Console.WriteLine($"connecting {options.Clients} clients to {options.Edge} …");
            foreach (var chunk in Enumerable.Range(0, options.Clients).Chunk(50))
            {
                clients.AddRange(await Task.WhenAll(chunk.Select(async i =>
                {
                    var userId = $"bench-{run}-{i}";
                    var client = new ImClient(new ImClientOptions
                    {
                        Host = endpoint[0],
                        Port = int.Parse(endpoint[1], CultureInfo.InvariantCulture),
                        TokenProvider = _ => Task.FromResult(tokens.Issue(userId, "bench")),
                        DeviceId = "bench",
                        Platform = "bench",
                        RequestTimeout = TimeSpan.FromSeconds(60),
                    });
                    await client.ConnectAsync();
                    await client.JoinRoomAsync(roomId);
                    return client;
                })));
            }

            var rates = new List<double>();
            for (var i = 0; i <= options.Runs; i++)
            {
                var (elapsed, delivered) = await OneRunAsync(clients, roomId, options);
                var rate = delivered / elapsed.TotalSeconds;
                Console.WriteLine($"{(i == 0 ? "warm-up" : $"run {i}")}: {delivered} deliveries in {elapsed.TotalMilliseconds:0} ms = {rate:0} deliveries/s");
                if (i > 0)
                {
                    rates.Add(rate);
                }
            }

            Console.WriteLine();
            Console.WriteLine($"room fan-out, {options.Clients} clients, {options.Senders}×{options.Messages} messages per run: " +
                $"{RunSpread.Of(rates).Format("0")} deliveries/s (median (min–max) of {options.Runs} runs); load average {LoadAverage()}");
            return 0;
        }
        finally
        {
            await Task.WhenAll(clients.Select(c => c.DisposeAsync().AsTask()));
        }
    }

    private static async Task<(TimeSpan Elapsed, long Delivered)> OneRunAsync(List<ImClient> clients, string roomId, RoomOptions options)
    {
        var expected = options.Senders * options.Messages;
        using var timeout = new CancellationTokenSource(RunTimeout);
        var clock = Stopwatch.StartNew();
        var receiving = clients.Select(c => ReceiveAsync(c, expected, timeout.Token)).ToArray();
        await Task.WhenAll(clients.Take(options.Senders).Select(async sender =>
        {
            for (var m = 0; m < options.Messages; m++)
            {
                var ack = await sender.SendTextAsync(roomId, $"bench {m}");
                if (ack.Status != SendStatus.Sent)
                {
                    throw new InvalidOperationException($"send refused: {ack.Error?.Message} (raise IM__Rooms__SendRatePerSecond/SendBurst)");
                }
            }
        }));
        await Task.WhenAll(receiving);
        return (clock.Elapsed, (long)expected * clients.Count);
    }

    private static async Task ReceiveAsync(ImClient client, int expected, CancellationToken cancellationToken)
    {
        for (var received = 0; received < expected; received++)
        {
            await client.Messages.ReadAsync(cancellationToken);
        }
    }

    private static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";

    private static RoomOptions? ParseOptions(IReadOnlyList<string> args)
    {
        var options = new RoomOptions();
        for (var i = 0; i + 1 < args.Count; i += 2)
        {
            var value = args[i + 1];
            switch (args[i])
            {
                case "--edge": options = options with { Edge = value }; break;
                case "--signing-key-file": options = options with { SigningKeyFile = value }; break;
                case "--clients" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n >= 2: options = options with { Clients = n }; break;
                case "--senders" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n >= 1: options = options with { Senders = n }; break;
                case "--messages" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n >= 1: options = options with { Messages = n }; break;
                case "--runs" when int.TryParse(value, CultureInfo.InvariantCulture, out var n) && n >= 1: options = options with { Runs = n }; break;
                default: return null;
            }
        }

        return args.Count % 2 == 0 && options.Senders <= options.Clients ? options : null;
    }

    private sealed record RoomOptions(
        string Edge = "127.0.0.1:5090",
        string SigningKeyFile = ".data/dev/signing-key",
        int Clients = 1000,
        int Senders = 10,
        int Messages = 20,
        int Runs = 5);
}
