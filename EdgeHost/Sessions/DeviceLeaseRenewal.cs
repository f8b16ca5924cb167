using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Every <see cref="EdgeOptions.DeviceRenewInterval"/>, renews each device connected here with its user grain
/// (<see cref="SessionHub.RenewAsync"/>). An online user's grain then stays active however quiet the user is (Orleans
/// collects a grain after 15 idle minutes, and a new activation knows no device to push to); a device whose grain forgot
/// it is registered again within one interval, not only after a lost silo is noticed; and the grain can drop the devices
/// of an edge host that died without saying so, when their lease (<c>IM:Users:DeviceLease</c>) runs out.
/// </summary>
public sealed partial class DeviceLeaseRenewal(SessionHub sessions, IOptions<EdgeOptions> options, ILogger<DeviceLeaseRenewal> logger)
    : BackgroundService
{
    /// <summary>Renewals in flight at once: one small call per session, beside the logins (which have their own bound).</summary>
    private const int Parallelism = 8;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DeviceRenewInterval);
        while (await RenewalTicks.NextAsync(timer, stoppingToken))
        {
            try
            {
                var sweep = await sessions.RenewAsync(null, Parallelism, afterSiloLoss: false, stoppingToken);
                if (sweep.Restored > 0 || sweep.Failed.Count > 0)
                {
                    LogRenewed(logger, sweep.Renewed, sweep.Restored, sweep.Superseded, sweep.Failed.Count);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Boundary: one failed sweep must not end the renewals (the devices' leases would all run out).
                LogSweepFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Renewed {Renewed} devices with their user grains; {Restored} registered again by a grain that had forgotten them; {Superseded} superseded by a newer connection; {Failed} not reached (tried again at the next renewal)")]
    private static partial void LogRenewed(ILogger logger, int renewed, int restored, int superseded, int failed);

    [LoggerMessage(2, LogLevel.Warning, "Renewing the devices with their user grains failed; trying again at the next renewal")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
