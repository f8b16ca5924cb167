using Microsoft.Extensions.Options;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Every <see cref="EdgeOptions.DeviceRenewInterval"/>, renews each device connected here with its user grain
/// (<see cref="SessionHub.RenewAsync"/>). An online user's grain then stays active however quiet the user is (Orleans
/// collects a grain after 15 idle minutes, and a new activation knows no device to push to); a device whose edge host
/// died without saying so stops counting as online when its lease (<c>IM:Users:DeviceLease</c>) runs out; and a device
/// whose grain forgot it is registered again within one interval, not only after a lost silo is noticed.
/// </summary>
public sealed partial class DeviceLeaseRenewal(SessionHub sessions, IOptions<EdgeOptions> options, ILogger<DeviceLeaseRenewal> logger)
    : BackgroundService
{
    /// <summary>Renewals in flight at once: one small call per session, beside the logins (which have their own bound).</summary>
    private const int Parallelism = 8;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DeviceRenewInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                var sweep = await sessions.RenewAsync(Parallelism, stoppingToken);
                if (sweep.Registered > 0 || sweep.Failed > 0)
                {
                    LogRenewed(logger, sweep.Renewed, sweep.Registered, sweep.Superseded, sweep.Failed);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Renewed {Renewed} devices with their user grains; registered {Registered} again that their grain had forgotten; {Superseded} superseded by a newer connection; {Failed} not reached (tried again at the next renewal)")]
    private static partial void LogRenewed(ILogger logger, int renewed, int registered, int superseded, int failed);
}
