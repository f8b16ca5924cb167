using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Sessions;

namespace Orleans.Im.EdgeHost.Rooms;

/// <summary>
/// Every <see cref="EdgeOptions.DeviceRenewInterval"/>, tells each room with devices here which of its members hold a
/// device here (<see cref="RoomFanout.ReattachAsync(IEnumerable{string}?, int, CancellationToken)"/>), which renews this
/// edge's lease with the room. A room drops an edge whose lease lapsed (it died without detaching, and every message
/// would still go to it), and ends the memberships that no edge reports (their user grain may have forgotten the room
/// after a silo was lost, and not make them leave when they go offline). One call per room, for all its members here.
/// </summary>
public sealed partial class RoomLeaseRenewal(RoomFanout rooms, IOptions<EdgeOptions> options, ILogger<RoomLeaseRenewal> logger)
    : BackgroundService
{
    /// <summary>Rooms renewed at once, beside the devices' renewals.</summary>
    private const int Parallelism = 4;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.DeviceRenewInterval);
        while (await RenewalTicks.NextAsync(timer, stoppingToken))
        {
            try
            {
                // A room that could not be told is tried at the next renewal: a lease outlasts a few of them.
                var failed = await rooms.ReattachAsync(null, Parallelism, stoppingToken);
                if (failed.Count > 0)
                {
                    LogRenewFailed(logger, failed.Count, rooms.RoomCount);
                }
            }
            catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
            {
                // Boundary: one failed sweep must not end the renewals (the rooms would drop this edge).
                LogSweepFailed(logger, ex);
            }
        }
    }

    [LoggerMessage(1, LogLevel.Warning, "Renewing this edge with its rooms: {Failed} of {Rooms} not reached (tried again at the next renewal)")]
    private static partial void LogRenewFailed(ILogger logger, int failed, int rooms);

    [LoggerMessage(2, LogLevel.Warning, "Renewing this edge with its rooms failed; trying again at the next renewal")]
    private static partial void LogSweepFailed(ILogger logger, Exception exception);
}
