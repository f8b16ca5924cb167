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
/// load, and reports its figures to the cluster stats. On a graceful stop it leaves the directory.
/// </summary>
public sealed partial class EdgeReporter(IClusterClient cluster, TcpConnectionHandler tcp, UserPushRoutes users, SessionHub sessions, EdgeDrain drain, IOptions<EdgeOptions> options, ILogger<EdgeReporter> logger)
    : BackgroundService
{
    private TimeSpan _lastCpu = Process.GetCurrentProcess().TotalProcessorTime;
    private long _lastTicks = Stopwatch.GetTimestamp();

    public override async Task StopAsync(CancellationToken cancellationToken)
    {
        await base.StopAsync(cancellationToken);
        try
        {
            await cluster.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey).RemoveAsync(options.Value.EdgeId).WaitAsync(TimeSpan.FromSeconds(5), cancellationToken);
        }
        catch (Exception ex) when (ex is not OperationCanceledException)
        {
            // The directory drops a silent edge after three missed reports anyway.
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
                    await cluster.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey).ReportAsync(new EdgeReport(
                        edge.EdgeId, PublicTcpAddresses(edge), PublicWebSocketUrl(edge), sessions.OpenSessions, CpuPercent(), edge.ReportInterval, drain.IsDraining));
                    await cluster.For<IClusterStatsGrain>(IClusterStatsGrain.DefaultKey).ReportEdgeAsync(edge.EdgeId, tcp.Connections + HubConnections(), users.UserCount);
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
}
