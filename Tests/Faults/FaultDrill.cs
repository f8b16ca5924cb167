using System.Diagnostics;
using System.Globalization;
using Microsoft.Extensions.Options;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// A cluster of real processes (silos and edge hosts) with SDK clients chatting in pairs through the TCP edge while a
/// test does something bad to one process. Every client sends one message after another, retrying retryable errors
/// with the same client message id as the SDK asks, and reads what its client shows; a <see cref="DeliveryChecker"/>
/// records it all. <see cref="FinishAsync"/> stops the load, lets the clients catch up, and reports against the logs.
/// </summary>
public sealed class FaultDrill : IAsyncDisposable
{
    /// <summary>Clients in pairs: 2k and 2k+1 share a conversation.</summary>
    public const int Clients = 16;

    private static readonly TimeSpan SendPause = TimeSpan.FromMilliseconds(50);
    private static readonly TimeSpan RetryBaseDelay = TimeSpan.FromMilliseconds(100);
    private static readonly TimeSpan RetryMaxDelay = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan SendersStopTimeout = TimeSpan.FromSeconds(60);
    private static readonly TimeSpan CatchUpTimeout = TimeSpan.FromSeconds(45);
    private static readonly TimeSpan PullRetryTimeout = TimeSpan.FromSeconds(30);
    private static readonly TimeSpan ProgressTimeout = TimeSpan.FromSeconds(60);
    private const int ProgressAcks = 50;
    private const int ConnectAttempts = 5;

    /// <summary>Failure detection in seconds, not Orleans' minute-scale defaults: probes of 1 s, dead after 2 missed.</summary>
    public static readonly IReadOnlyDictionary<string, string> SiloSettings = new Dictionary<string, string>
    {
        ["IM__Conversations__SendRatePerSecond"] = "100000",
        ["IM__Conversations__SendBurst"] = "100000",
        ["IM__Silo__Membership__ProbeTimeout"] = "00:00:01",
        ["IM__Silo__Membership__NumMissedProbesLimit"] = "2",
        ["IM__Silo__Membership__TableRefreshTimeout"] = "00:00:02",
        // Readiness follows the database within the drills' short outages.
        ["IM__Silo__DatabaseGrace"] = "00:00:01",
    };

    private readonly ITestOutputHelper _output;
    private readonly string _name;
    private readonly string _run = Guid.NewGuid().ToString("N")[..8];
    private readonly ImClient[] _clients;
    private readonly string[] _conversationOf;
    private readonly CancellationTokenSource _stopSending = new();
    private readonly CancellationTokenSource _abandon = new();
    private readonly CancellationTokenSource _stopReading = new();
    private readonly List<Task> _senders = [];
    private readonly List<Task> _readers = [];

    private FaultDrill(string name, ITestOutputHelper output, SiloCluster cluster, List<RunningSilo> silos, List<RunningEdge> edges)
    {
        _name = name;
        _output = output;
        Cluster = cluster;
        Silos = silos;
        Edges = edges;
        Checker = new DeliveryChecker(Clients);
        var tokens = new AccessTokens(Options.Create(new AuthOptions { SigningKey = cluster.SigningKey }), TimeProvider.System);
        var users = Enumerable.Range(0, Clients).Select(i => Ids.User($"f{i}")).ToArray();
        _conversationOf = Enumerable.Range(0, Clients).Select(i => GrainKeys.P2P(users[i], users[i ^ 1])).ToArray();
        var addresses = edges.Select(e => $"127.0.0.1:{e.Endpoints.TcpPort}").ToList();
        _clients = Enumerable.Range(0, Clients).Select(i => new ImClient(new ImClientOptions
        {
            // Spread over the edges; the others are where a client goes when its edge cannot be reached.
            Port = edges[i % edges.Count].Endpoints.TcpPort,
            FallbackAddresses = addresses.Where((_, e) => e != i % edges.Count).ToList(),
            TokenProvider = _ => Task.FromResult(tokens.Issue(users[i], "session-phone")),
            DeviceId = "phone",
            Platform = "test",
            HeartbeatInterval = TimeSpan.FromSeconds(1),
            // Shorter than the default minute, so that a push lost in the fault is found within the drill's settle wait.
            CatchUpInterval = TimeSpan.FromSeconds(5),
            RequestTimeout = TimeSpan.FromSeconds(5),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(100),
            MaxReconnectDelay = TimeSpan.FromSeconds(1),
            // Bounded by the drill's own timeouts instead: a client must never give up during a fault.
            MaxReconnectAttempts = 1000,
            // The drill is the application that sends again, and it counts how the server refuses (and how fast): the
            // SDK's own retries would hide the refusals it measures.
            MaxSendRetries = 0,
            // The app knows its conversation from the start (it opened it), so every message of it is due on this device;
            // a device new to a conversation would start at the read position instead.
            InitialState = new ImClientState(0, new Dictionary<string, long> { [_conversationOf[i]] = 0 }),
        })).ToArray();
    }

    public SiloCluster Cluster { get; }

    public List<RunningSilo> Silos { get; }

    public List<RunningEdge> Edges { get; }

    public DeliveryChecker Checker { get; }

    /// <summary>Starts the silos (the first alone: it migrates the schema; then the others with the edge hosts), and connects the clients.</summary>
    public static async Task<FaultDrill> StartAsync(string name, ITestOutputHelper output, int silos, int edges,
        string? redis = null, string? postgres = null)
    {
        var cluster = new SiloCluster("fault-" + name)
        {
            RedisConnectionString = redis ?? TestServices.RedisConnectionString,
            PostgresConnectionString = postgres ?? TestServices.PostgresConnectionString,
        };
        FaultDrill? drill = null;
        try
        {
            var started = new List<RunningSilo> { await cluster.StartSiloAsync(settings: SiloSettings) };
            var moreSilos = Task.WhenAll(Enumerable.Range(1, silos - 1).Select(_ => cluster.StartSiloAsync(settings: SiloSettings)));
            var edgeHosts = (await Task.WhenAll(Enumerable.Range(0, edges).Select(e => cluster.StartEdgeAsync(EdgeSettings(e))))).ToList();
            started.AddRange(await moreSilos);
            drill = new FaultDrill(name, output, cluster, started, edgeHosts);
            await Task.WhenAll(drill._clients.Select(ConnectAsync));
            return drill;
        }
        catch
        {
            // The drill owns the cluster once it exists; before that, the cluster is disposed alone.
            await (drill?.DisposeAsync() ?? cluster.DisposeAsync());
            throw;
        }
    }

    /// <summary>
    /// The first login of a cold cluster on a loaded machine can take longer than the clients' short request timeout
    /// (kept short so that a frozen silo is noticed quickly): a few attempts, as an application would make.
    /// </summary>
    private static async Task ConnectAsync(ImClient client)
    {
        for (var attempt = 1; ; attempt++)
        {
            try
            {
                await client.ConnectAsync();
                return;
            }
            catch (ImClientException) when (attempt < ConnectAttempts)
            {
                await Task.Delay(RetryMaxDelay);
            }
        }
    }

    /// <summary>Starts a silo again on the ports it had (as a restarted machine would).</summary>
    public async Task<RunningSilo> RestartSiloAsync(RunningSilo silo)
    {
        var restarted = await Cluster.StartSiloAsync(silo.Endpoints, SiloSettings);
        Silos[Silos.IndexOf(silo)] = restarted;
        return restarted;
    }

    /// <summary>Every client starts chatting, and reading what it is shown.</summary>
    public void StartLoad()
    {
        for (var i = 0; i < Clients; i++)
        {
            var client = i;
            _readers.Add(Task.Run(() => ReadAsync(client)));
            _senders.Add(Task.Run(() => SendAsync(client)));
        }
    }

    /// <summary>The drill's SDK clients; client <c>i</c> started on edge <c>i % edges</c>.</summary>
    public IReadOnlyList<ImClient> SdkClients => _clients;

    /// <summary>
    /// Lets the load run for <paramref name="phase"/>, then waits (bounded) for further acks: true when the clients are
    /// being served after the phase, whatever happened during it.
    /// </summary>
    public async Task<bool> KeepsServingAsync(TimeSpan phase)
    {
        await Task.Delay(phase);
        return await WaitForAcksAsync(ProgressAcks, ProgressTimeout);
    }

    /// <summary>Waits (bounded) until <paramref name="more"/> further acks have come: the load runs, whatever happened.</summary>
    public async Task<bool> WaitForAcksAsync(int more, TimeSpan timeout)
    {
        var target = Checker.AckCount + more;
        var acked = await Eventually.ReturnsAsync(() => Task.FromResult(Checker.AckCount), n => n >= target, timeout);
        return acked >= target;
    }

    /// <summary>
    /// Stops sending (each client finishes its message in hand, bounded), reads the logs, gives every client a bounded
    /// time to show all of them, and reports; the figures go to the test output and to <c>.data/test/fault-figures.tsv</c>.
    /// </summary>
    public async Task<DeliveryReport> FinishAsync()
    {
        await _stopSending.CancelAsync();
        var senders = Task.WhenAll(_senders);
        if (await Task.WhenAny(senders, Task.Delay(SendersStopTimeout)) != senders)
        {
            _output.WriteLine($"some sends were still without an ack after {SendersStopTimeout}");
            await _abandon.CancelAsync();
        }

        var logs = new Dictionary<string, IReadOnlyDictionary<long, string>>();
        for (var pair = 0; pair < Clients; pair += 2)
        {
            logs[_conversationOf[pair]] = await ReadLogAsync(_clients[pair], _conversationOf[pair]);
        }

        var caughtUp = await Eventually.ReturnsAsync(
            () => Task.FromResult(Enumerable.Range(0, Clients).All(i => Checker.ShownUpTo(i, _conversationOf[i]) >= logs[_conversationOf[i]].Keys.DefaultIfEmpty(0).Max())),
            all => all, CatchUpTimeout);
        if (!caughtUp)
        {
            _output.WriteLine($"some clients had not shown every message after {CatchUpTimeout}");
        }

        var report = Checker.Report(logs, _conversationOf.Select(c => (IReadOnlyList<string>)[c]).ToList());
        _output.WriteLine(report.Describe(_name));
        await RecordAsync(report);
        return report;
    }

    public async ValueTask DisposeAsync()
    {
        await _stopSending.CancelAsync();
        await _abandon.CancelAsync();
        foreach (var client in _clients)
        {
            await client.DisposeAsync();
        }

        await _stopReading.CancelAsync();
        await Task.WhenAll(_senders.Concat(_readers).Select(t => t.ContinueWith(_ => { }, TaskScheduler.Default)));
        await Cluster.DisposeAsync();
        _stopSending.Dispose();
        _abandon.Dispose();
        _stopReading.Dispose();
    }

    private static Dictionary<string, string> EdgeSettings(int edge) => new()
    {
        ["IM__Edge__EdgeId"] = $"edge-{edge}",
        ["IM__Edge__ReportInterval"] = "00:00:01",
        ["IM__Edge__UserSendRatePerSecond"] = "100000",
        ["IM__Edge__UserSendBurst"] = "100000",
    };

    private async Task SendAsync(int client)
    {
        var conversationId = _conversationOf[client];
        for (var j = 0; !_stopSending.IsCancellationRequested; j++)
        {
            var clientMsgId = $"{_run}-{client}-{j}";
            Checker.Attempting(conversationId, clientMsgId);
            var delay = RetryBaseDelay;
            while (!_abandon.IsCancellationRequested)
            {
                var attempt = Stopwatch.GetTimestamp();
                bool retryable;
                try
                {
                    var ack = await _clients[client].SendTextAsync(conversationId, $"{client}:{j}", clientMsgId);
                    if (ack.Status is V1.SendStatus.Sent or V1.SendStatus.Duplicate)
                    {
                        Checker.Acked(clientMsgId, ack);
                        break;
                    }

                    retryable = ack.Error?.Retryable == true;
                }
                catch (ImClientException ex) when (ex.Error is not null)
                {
                    retryable = ex.Error.Retryable;
                }
                catch (ImClientException)
                {
                    // Disposed before the ack: the drill is over.
                    return;
                }

                Checker.Failed(retryable, Stopwatch.GetElapsedTime(attempt));
                if (!retryable)
                {
                    break;
                }

                if (!await PauseAsync(delay, _abandon.Token))
                {
                    return;
                }

                delay = TimeSpan.FromTicks(Math.Min(delay.Ticks * 2, RetryMaxDelay.Ticks));
            }

            if (!await PauseAsync(SendPause, _stopSending.Token))
            {
                return;
            }
        }
    }

    private async Task ReadAsync(int client)
    {
        try
        {
            await foreach (var message in _clients[client].Messages.ReadAllAsync(_stopReading.Token))
            {
                Checker.Delivered(client, message);
            }
        }
        catch (OperationCanceledException)
        {
            // The drill is over.
        }
    }

    /// <summary>The whole log of a conversation as stored (seq → client message id), read page by page through the edge.</summary>
    private static async Task<IReadOnlyDictionary<long, string>> ReadLogAsync(ImClient client, string conversationId)
    {
        var log = new Dictionary<long, string>();
        var deadline = DateTime.UtcNow + PullRetryTimeout;
        while (true)
        {
            try
            {
                var page = await client.PullAsync(conversationId, log.Keys.DefaultIfEmpty(0).Max(), limit: MessageLimits.MaxPullLimit);
                foreach (var message in page.Messages)
                {
                    log[message.Seq] = message.ClientMsgId;
                }

                if (page.Messages.Count < MessageLimits.MaxPullLimit)
                {
                    return log;
                }
            }
            catch (ImClientException) when (DateTime.UtcNow < deadline)
            {
                // The cluster may still be settling after the fault: ask again.
                await Task.Delay(RetryMaxDelay);
            }
        }
    }

    private static async Task<bool> PauseAsync(TimeSpan delay, CancellationToken token)
    {
        try
        {
            await Task.Delay(delay, token);
            return true;
        }
        catch (OperationCanceledException)
        {
            return false;
        }
    }

    private async Task RecordAsync(DeliveryReport report)
    {
        var file = Path.Combine(RepositoryPaths.Root, ".data", "test", "fault-figures.tsv");
        Directory.CreateDirectory(Path.GetDirectoryName(file)!);
        var line = string.Join('\t', DateTime.UtcNow.ToString("O", CultureInfo.InvariantCulture), _name, report.Sent, report.Acked, report.NeverAcked,
            report.AckedButLost, report.DuplicatesShown, report.OrderingViolations, report.GapsNeverFilled, report.RetryableErrors, report.OtherErrors,
            report.SlowestRefusal.TotalSeconds.ToString("0.00", CultureInfo.InvariantCulture),
            report.LongestSendOutage.TotalSeconds.ToString("0.0", CultureInfo.InvariantCulture), report.Delivered);
        await File.AppendAllTextAsync(file, line + Environment.NewLine);
    }
}
