using Microsoft.Extensions.Options;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Stats;

namespace Orleans.Im.Silo.Stats;

/// <summary>Reports this silo's count of stored messages to the cluster stats grain, periodically.</summary>
public sealed partial class SiloStatsReporter(IGrainFactory grains, PostgresMessageLog log, ILocalSiloDetails silo, IOptions<StatsOptions> options, ILogger<SiloStatsReporter> logger)
    : BackgroundService
{
    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.ReportInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await grains.For<IClusterStatsGrain>(IClusterStatsGrain.DefaultKey).ReportSiloAsync(silo.SiloAddress.ToString(), log.AppendedCount, options.Value.ReportInterval);
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
