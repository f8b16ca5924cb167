using System.Threading.Channels;
using Orleans.Im.EdgeHost.Rooms;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// Renews this edge's devices with their user grains (which register again those they forgot), and tells its rooms
/// their members here, when a silo may have been lost (the cluster client lost a gateway, or got its connection back). A user grain that lived on that silo
/// is activated again elsewhere knowing none of its devices, and pushes nothing until they are registered again: without
/// this, a device would learn of new messages only at its next sync. Likewise a large group or official account knows
/// only the online members it was told of: the user grains tell it their routes again. A room is activated again knowing no members and
/// no edge hosts: without this, its members here could not send to it and would get nothing from it until they
/// reconnected.
/// </summary>
public sealed partial class DeviceReRegistration(IServiceProvider services, ILogger<DeviceReRegistration> logger)
    : BackgroundService, IClusterConnectionStatusObserver
{
    /// <summary>Registrations in flight at once: a silo loss must not crowd out the logins (they have their own bound).</summary>
    private const int Parallelism = 16;

    /// <summary>Rooms told at once, beside the registrations (one call per room, for all its members here).</summary>
    private const int RoomParallelism = 4;

    /// <summary>
    /// Calls to grains of the lost silo wait until it is declared dead and may time out first: those are tried again
    /// this much later, a few times.
    /// </summary>
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(15);
    private const int MaxRetries = 4;

    /// <summary>Gateway changes come in bursts; one sweep after the burst is enough.</summary>
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    // Resolved when first needed: the cluster client resolves this observer while it is built, and the session hub
    // needs the cluster client, so taking the hub in the constructor would be a cycle.
    private SessionHub Sessions => services.GetRequiredService<SessionHub>();

    private RoomFanout Rooms => services.GetRequiredService<RoomFanout>();

    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        if (currentNumberOfGateways < previousNumberOfGateways || connectionRecovered)
        {
            _signals.Writer.TryWrite(true);
        }
    }

    public void NotifyClusterConnectionLost()
    {
        // Nothing to register with now; the recovery that follows signals.
    }

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        try
        {
            while (await _signals.Reader.WaitToReadAsync(stoppingToken))
            {
                await Task.Delay(Settle, stoppingToken);
                _signals.Reader.TryRead(out _);
                await SweepAsync(stoppingToken);
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        var sessions = Sessions;
        var rooms = Rooms;
        // At once, not one after the other: a lost room refuses its members' sends until it hears of them again.
        var renewing = sessions.RenewAsync(null, Parallelism, afterSiloLoss: true, stoppingToken);
        var failedRooms = await rooms.ReattachAsync(null, RoomParallelism, stoppingToken);
        var sweep = await renewing;
        LogSwept(logger, sessions.OpenSessions, sweep.Restored, sweep.Failed.Count, rooms.RoomCount, failedRooms.Count);
        for (var retry = 0; retry < MaxRetries && (sweep.Failed.Count > 0 || failedRooms.Count > 0); retry++)
        {
            await Task.Delay(RetryDelay, stoppingToken);
            sweep = sweep.Failed.Count > 0 ? await sessions.RenewAsync(sweep.Failed, Parallelism, afterSiloLoss: true, stoppingToken) : sweep with { Restored = 0 };
            failedRooms = failedRooms.Count > 0 ? await rooms.ReattachAsync(failedRooms, RoomParallelism, stoppingToken) : failedRooms;
            LogSwept(logger, sessions.OpenSessions, sweep.Restored, sweep.Failed.Count, rooms.RoomCount, failedRooms.Count);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "A gateway was lost or the cluster came back: renewed the devices of {Sessions} sessions with their user grains, {Restored} registered again by a grain that had forgotten them, {Failed} failed; told the rooms with devices here ({Rooms} now) their members here, {FailedRooms} failed")]
    private static partial void LogSwept(ILogger logger, int sessions, int restored, int failed, int rooms, int failedRooms);
}
