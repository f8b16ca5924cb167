using System.Globalization;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Orleans.Im.Bench.Load;
using Orleans.Im.Bench.Statistics;

namespace Orleans.Im.Bench.Group;

/// <summary>
/// <c>group</c>: one group of G members (created over the HTTP API), O of them online over TCP; random online members
/// send at an aggregate rate, each message owed to the other O − 1 online members. Reports deliveries per second.
/// </summary>
public static class GroupCommand
{
    public const string OptionsHelp = """
        group options (lift the send limits as for p2p):
          --members G               group size (500)
          --online O                members online, sending and receiving (200)
          --rate R                  messages per second into the group (500)
          --seconds D               send phase of a run (20)
          --runs K                  measured runs after one warm-up run of 5 s (3)
          --body-bytes B            text length (40)
        """ + TcpClientOption.OptionsHelp;

    private static readonly string[] OwnOptions = ["members", "online", "rate", "seconds", "runs", "body-bytes", TcpClientOption.Name];
    private static readonly TimeSpan WarmUp = TimeSpan.FromSeconds(5);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var options = CommandLineOptions.Parse(args, [.. OwnOptions, .. LoadTarget.OptionNames]);
        var target = LoadTarget.From(options);
        var members = options.GetInt("members", 500, 2, 2000);
        var online = options.GetInt("online", 200, 2, members);
        var rate = options.GetInt("rate", 500, 1, 1_000_000);
        var seconds = options.GetInt("seconds", 20, 1, 3600);
        var runs = options.GetInt("runs", 3, 1, 100);
        var bodyBytes = options.GetInt("body-bytes", 40, 1, 16_000);
        var transport = TcpClientOption.From(options);

        var tokens = await BenchTokens.LoadAsync(target.SigningKeyFile);
        var prefix = $"grp-{Guid.NewGuid().ToString("N")[..6]}";
        var memberIds = Enumerable.Range(0, members).Select(i => $"{prefix}-{i}").ToList();
        var groupId = await CreateGroupAsync(target.EdgeUrls[0], tokens.Issue(memberIds[0]), memberIds.Skip(1).ToList());
        Console.WriteLine($"group {groupId}: {members} members; signing in {online} …");
        var sink = new DeliverySink();
        using var hosts = new HostMetricsReader(target.MetricsUrls);
        var users = await BenchUsers.ConnectAsync(transport, memberIds.Take(online).ToList(), target, tokens, sink);
        try
        {
            MessageRoute Route(Random random) => new(users[random.Next(users.Count)], groupId, online - 1);
            var (delivered, _) = await MessagingRun.MeasureAsync(rate, WarmUp, TimeSpan.FromSeconds(seconds), runs, Route, sink, hosts,
                bodyBytes, target.ResultsFile, run => new RunReport("group").Set("client", TcpClientOption.NameOf(transport)).Set("run", run)
                    .Set("members", members).Set("online", online).Set("rate", rate).Set("bodyBytes", bodyBytes)
                    .Line($"group run {run}/{runs}: {members} members, {online} online, {rate} msg/s offered"));
            Console.WriteLine();
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture,
                $"group over {runs} runs: {RunSpread.Of(delivered).Format("0")} deliveries/s (median (min–max))"));
            return 0;
        }
        finally
        {
            await BenchUsers.DisconnectAsync(users);
        }
    }

    private static async Task<string> CreateGroupAsync(string edgeUrl, string ownerToken, IReadOnlyList<string> memberIds)
    {
        using var http = new HttpClient { BaseAddress = new Uri(edgeUrl), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", ownerToken);
        using var response = await http.PostAsJsonAsync("/api/groups", new { name = "bench", memberIds });
        var body = await response.Content.ReadAsStringAsync();
        if (!response.IsSuccessStatusCode)
        {
            throw new InvalidOperationException($"creating the group answered {(int)response.StatusCode}: {body}");
        }

        using var json = JsonDocument.Parse(body);
        return json.RootElement.GetProperty("conversationId").GetString()!;
    }
}
