using System.Diagnostics;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Drain;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.EdgeHost.Tcp;
using Orleans.Im.Edges;
using Orleans.Im.Stats;

namespace Orleans.Im.EdgeHost.Metrics;

/// <summary>
/// Every <see cref="EdgeOptions.ReportInterval"/>: registers this edge host in the edge directory with its addresses and
/// load, and reports its figures to the cluster stats. On a graceful stop it leaves the directory. When the directory says
/// it had dropped this edge as lost, registers its devices again.
/// </summary>
public sealed partial class EdgeReporter(IClusterClient cluster, TcpConnectionHandler tcp, UserPushRoutes users, SessionHub sessions, EdgeDrain drain, IOptions<EdgeOptions> options, ILogger<EdgeReporter> logger)
    : BackgroundService
{
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private long _lastTicks = Stopwatch.GetTimestamp();

    /// <summary>Registrations in flight at once after the directory dropped this edge (as for a silo loss).</summary>
    private const int RegisterAgainParallelism = 16;

    /// <summary>This run of the process, so that the directory tells a restart from a report of the same run.</summary>
    private readonly string _incarnation = Guid.NewGuid().ToString("N");

    /// <summary>Devices registered again after a loss: <see cref="Idle"/>, <see cref="Registering"/> or <see cref="AskedAgain"/>.</summary>
    private int _registeringAgain;

    private const int Idle = 0;
    private const int Registering = 1;
    private const int AskedAgain = 2;

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            // The last word: the silos drop any device still registered through this run (a disconnect that failed).
            var directory = cluster.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey);
            try
            {
                await directory.LeaveAsync(options.Value.EdgeId, _incarnation).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            }
            catch (Exception ex) when (ex is not OperationCanceledException and not TimeoutException)
            {
                // A directory on a silo from before Leave (a rolling upgrade): leave as before; it records the loss once
                // this edge is found silent.
                LogReportFailed(logger, ex.Message);
                await directory.RemoveAsync(options.Value.EdgeId).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
            }
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The directory drops a silent edge after three missed reports anyway, and records it as lost then.
            LogReportFailed(logger, ex.Message);
        }
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReportInterval);
        try
        {
            do
            {
                try
                {
                    var edge = options.Value;
                    var wasLost = await cluster.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey).CheckInAsync(new EdgeReport(
                        edge.EdgeId, PublicTcpAddresses(edge), PublicWebSocketUrl(edge), sessions.OpenSessions, CpuPercent(), edge.ReportInterval, drain.IsDraining, _incarnation));
                    if (wasLost)
                    {
                        RegisterDevicesAgain(stoppingToken);
                    }

                    await cluster.For<IClusterStatsGrain>(IClusterStatsGrain.DefaultKey).ReportEdgeAsync(edge.EdgeId, tcp.Connections + HubConnections(), users.UserCount, edge.ReportInterval);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Best effort: a missed report is what the directory's three-miss rule is for.
                    LogReportFailed(logger, ex.Message);
                }
            }
            while (await timer.WaitForNextTickAsync(stoppingToken));
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    /// <summary>
    /// The directory had dropped this edge as lost (its reports did not get through for a while): the silos dropped its
    /// devices, so they are registered again at once (each grain that dropped one registers it again, and the device
    /// syncs for what it was not pushed meanwhile), not only at the next periodic renewal. In the background: the
    /// reports go on meanwhile.
    /// </summary>
    /// <remarks>
    /// Dropped again while a pass runs (the edge went silent once more on a sick cluster), the silos dropped what that pass
    /// had registered already: one more pass follows it, or those devices waited for the periodic renewal, minutes away,
    /// looking offline.
    /// </remarks>
    private void RegisterDevicesAgain(CancellationToken stoppingToken)
    {
        LogDroppedAsLost(logger);
        if (Interlocked.Exchange(ref _registeringAgain, AskedAgain) != Idle)
        {
            // The pass running takes it: it runs once more when it ends.
            return;
        }

        _ = Task.Run(async () =>
        {
            do
            {
                Volatile.Write(ref _registeringAgain, Registering);
                try
                {
                    var sweep = await sessions.RenewAsync(null, RegisterAgainParallelism, afterSiloLoss: false, stoppingToken);
                    LogRegisteredAgain(logger, sweep.Restored, sweep.Renewed, sweep.Failed.Count);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Boundary: the periodic renewal registers them again.
                    LogReportFailed(logger, ex.Message);
                }
            }
            while (Interlocked.CompareExchange(ref _registeringAgain, Idle, Registering) != Registering && !stoppingToken.IsCancellationRequested);
        }, CancellationToken.None);
    }

    private long HubConnections() => Math.Max(0, sessions.OpenSessions - tcp.Connections);

    private static string[] PublicTcpAddresses(EdgeOptions edge) =>
        edge.PublicTcpAddresses.Count > 0 ? [.. edge.PublicTcpAddresses] : [.. edge.EffectiveTcpPorts.Select(port => $"{edge.TcpAddress}:{port}")];

    private static string PublicWebSocketUrl(EdgeOptions edge)
    {
        var http = new UriBuilder(edge.PublicHttpUrl ?? edge.HttpUrl);
        http.Scheme = http.Scheme == Uri.UriSchemeHttps ? "wss" : "ws";
        http.Path = ChatHub.Path;
        return http.Uri.ToString();
    }

    private double CpuPercent()
    {
        using var process = Process.GetCurrentProcess();
        var cpu = process.TotalProcessorTime;
        var now = Stopwatch.GetTimestamp();
        var elapsed = Stopwatch.GetElapsedTime(_lastTicks, now);
        var used = cpu - _lastCpu;
        _lastCpu = cpu;
        _lastTicks = now;
        return elapsed <= TimeSpan.Zero ? 0 : Math.Round(100 * used / elapsed / Environment.ProcessorCount, 1);
    }

    [LoggerMessage(1, LogLevel.Debug, "Edge report failed: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string reason);

    [LoggerMessage(2, LogLevel.Warning, "The edge directory had dropped this edge host's devices (its reports did not get through, or an earlier run of it was still registered): registering them again")]
    private static partial void LogDroppedAsLost(ILogger logger);

    [LoggerMessage(3, LogLevel.Information, "Devices registered again after the drop: {Restored} had been dropped, {Renewed} had not; {Failed} not reached (the periodic renewal tries them again)")]
    private static partial void LogRegisteredAgain(ILogger logger, int restored, int renewed, int failed);
}
