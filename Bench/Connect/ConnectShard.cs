using System.Net;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Bench.Connect;

/// <summary>
/// One generator process's share of <c>connect</c>: users k, k+P, k+2P, … at rate/P, from loopback source addresses
/// 127.0.0.2 and up (each address pair has about 28,000 ephemeral ports), then held with pings.
/// </summary>
public sealed class ConnectShard(ConnectSettings settings, LoadTarget target, BenchTokens tokens) : IDisposable
{
    /// <summary>Connects in flight at once; the pacer sets the rate, this bounds a stalled server's backlog.</summary>
    private const int MaxPendingConnects = 2_000;

    /// <summary>The pacer's shortest sleep: logins and pings need no millisecond spacing, and the generator's wake-ups cost CPU the servers need.</summary>
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(10);

    /// <summary>A login that has not answered within this counts as failed.</summary>
    private static readonly TimeSpan LoginTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How often the heartbeat looks for connections due a ping (each is pinged once per heartbeat interval).</summary>
    private static readonly TimeSpan HeartbeatTick = TimeSpan.FromSeconds(1);

    private readonly CancellationTokenSource _stopHeartbeats = new();
    private Task _heartbeats = Task.CompletedTask;

    private readonly List<LeanConnection> _connections = [];
    private readonly Lock _gate = new();
    private int _failed;
    private int _refused;
    private string? _firstError;
    private DateTimeOffset _connectStarted;
    private DateTimeOffset _connectEnded;

    public int Opened
    {
        get
        {
            lock (_gate)
            {
                return _connections.Count;
            }
        }
    }

    /// <summary>Opens this shard's connections at its share of the rate.</summary>
    public async Task ConnectAsync()
    {
        var mine = Enumerable.Range(0, settings.Connections).Where(i => i % settings.Shards == settings.Shard).ToArray();
        using var pending = new SemaphoreSlim(MaxPendingConnects);
        var attempts = new List<Task>(mine.Length);
        _connectStarted = DateTimeOffset.UtcNow;

        // Pinged from their login on, not from the hold: a ramp longer than the edge's idle timeout (120 s; 100,000
        // connections at a few hundred logins a second) would otherwise have its first connections closed as idle.
        _heartbeats = HeartbeatAsync(_stopHeartbeats.Token);
        await OpenLoopPacer.RunAsync((double)settings.Rate / settings.Shards, TimeSpan.FromDays(1), (n, _) =>
        {
            if (n < mine.Length)
            {
                attempts.Add(OpenOneAsync(mine[n], pending));
            }
        }, () => attempts.Count >= mine.Length, Tick);
        await Task.WhenAll(attempts);
        _connectEnded = DateTimeOffset.UtcNow;
    }

    /// <summary>
    /// Holds every connection for the hold time (the heartbeat pings each once per interval), then, once
    /// <paramref name="beforeClose"/> has completed (the hosts are measured while every connection is still held), closes them.
    /// </summary>
    /// <param name="hold">How long to hold.</param>
    /// <param name="beforeClose">Called before anything is closed: the hold's figures must not include the closes.</param>
    public async Task<ShardResult> HoldAsync(TimeSpan hold, Func<Task> beforeClose)
    {
        ArgumentNullException.ThrowIfNull(beforeClose);
        if (Opened > 0)
        {
            await Task.Delay(hold);
        }

        await beforeClose();

        await _stopHeartbeats.CancelAsync();
        await _heartbeats;
        LeanConnection[] all;
        lock (_gate)
        {
            all = [.. _connections];
        }

        var dropped = all.Count(c => c.Dropped);
        foreach (var connection in all)
        {
            connection.Dispose();
        }

        return new ShardResult(all.Length, _failed, dropped, _connectStarted, _connectEnded, _firstError, _refused);
    }

    public void Dispose() => _stopHeartbeats.Dispose();

    /// <summary>
    /// Until stopped: every tick, pings the connections that sent nothing for a heartbeat interval. Connections come due
    /// as they logged in, so the pings are spread as the logins were.
    /// </summary>
    private async Task HeartbeatAsync(CancellationToken stop)
    {
        var ping = LeanConnection.PingFrame();
        using var timer = new PeriodicTimer(HeartbeatTick);
        try
        {
            while (await timer.WaitForNextTickAsync(stop))
            {
                LeanConnection[] all;
                lock (_gate)
                {
                    all = [.. _connections];
                }

                foreach (var connection in all)
                {
                    if (connection.PingDue(settings.HeartbeatInterval))
                    {
                        _ = connection.PingAsync(ping);
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The hold ended.
        }
    }

    private async Task OpenOneAsync(int index, SemaphoreSlim pending)
    {
        await pending.WaitAsync();
        try
        {
            var source = new IPAddress([127, 0, 0, (byte)(2 + index % settings.SourceAddresses)]);
            var edge = target.TcpEndpoints[index % target.TcpEndpoints.Count];
            using var timeout = new CancellationTokenSource(LoginTimeout);
            LeanConnection? connection;
            while ((connection = await LeanConnection.OpenAsync(source, edge, tokens.Issue($"{settings.UserPrefix}-{index}"), "c", timeout.Token)) is null)
            {
                // Refused as busy: back off with jitter, as the SDK does, until the login timeout.
                Interlocked.Increment(ref _refused);
                await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(200, 2_000)), timeout.Token);
            }

            lock (_gate)
            {
                _connections.Add(connection);
            }
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            if (Interlocked.Increment(ref _failed) == 1)
            {
                _firstError = $"{ex.GetType().Name}: {ex.Message}";
            }
        }
        finally
        {
            pending.Release();
        }
    }
}
