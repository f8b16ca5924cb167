using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.EdgeHost.Tcp;
using Orleans.Im.Stats;

namespace Orleans.Im.EdgeHost.Metrics;

/// <summary>Reports this edge host's connections and users to the cluster stats grain, periodically.</summary>
public sealed partial class EdgeStatsReporter(IClusterClient cluster, TcpConnectionHandler tcp, UserStreamSubscriptions users, IOptions<EdgeOptions> options, ILogger<EdgeStatsReporter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.StatsReportInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await cluster.GetGrain<IClusterStatsGrain>(IClusterStatsGrain.DefaultKey).ReportEdgeAsync(options.Value.EdgeId, tcp.Connections, users.UserCount);
                }
                catch (Exception ex) when (ex is not OperationCanceledException)
                {
                    // Stats are best effort: a missed report only blurs a figure.
                    LogReportFailed(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // Stopping.
        }
    }

    [LoggerMessage(1, LogLevel.Debug, "Stats report failed: {Reason}")]
    private static partial void LogReportFailed(ILogger logger, string reason);
}
