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
/// <remarks>
/// The edge hears of a lost gateway at once, seconds before the cluster declares the silo dead, and only then does each
/// silo deactivate the activations whose directory registration the dead silo held (Orleans' <c>DirectoryFailure</c>):
/// user grains and rooms on the surviving silos that the first sweep had just renewed are forgotten right after it, with
/// their devices, members and timers. So after a lost gateway the edge watches the cluster's active silos, and when
/// one it saw active is declared dead it sweeps again: those activations are then made again, and registered again.
/// </remarks>
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

    /// <summary>
    /// How long after a lost gateway the edge waits for the cluster to declare a silo dead (Orleans' defaults take
    /// ~15–30 s: three missed probes of 5 s, then the votes); a gateway that came back without a death ends the wait here.
    /// </summary>
    private static readonly TimeSpan DeathDeclarationPatience = TimeSpan.FromMinutes(2);

    /// <summary>How often the active silos are asked for while waiting for a death declaration.</summary>
    private static readonly TimeSpan DeathDeclarationPoll = TimeSpan.FromSeconds(2);

    /// <summary>An answer about the active silos later than this is taken as none (the call may have gone to the lost silo).</summary>
    private static readonly TimeSpan ActiveSilosTimeout = TimeSpan.FromSeconds(5);

    /// <summary>From seeing a silo declared dead to the second sweep (see <see cref="SweepAfterDeathAsync"/>).</summary>
    private static readonly TimeSpan DeathDeclarationSettle = TimeSpan.FromSeconds(2);

    // Resolved when first needed: the cluster client resolves this observer while it is built, and the session hub
    // needs the cluster client, so taking the hub in the constructor would be a cycle.
    private SessionHub Sessions => services.GetRequiredService<SessionHub>();

    private RoomFanout Rooms => services.GetRequiredService<RoomFanout>();

    private IManagementGrain Management => services.GetRequiredService<IGrainFactory>().GetGrain<IManagementGrain>(0);

    /// <summary>Whether the edge was ever connected to a gateway (its first connection is no loss).</summary>
    private bool _everConnected;

    /// <summary>
    /// 1 when a signal since the last sweep began was a lost gateway (or a connection recovered after one), not the edge's
    /// first connection: only then is there a death declaration to wait for.
    /// </summary>
    private int _lossSignalled;

    private readonly Channel<bool> _signals = Channel.CreateBounded<bool>(new BoundedChannelOptions(1) { FullMode = BoundedChannelFullMode.DropWrite });

    public void NotifyGatewayCountChanged(int currentNumberOfGateways, int previousNumberOfGateways, bool connectionRecovered)
    {
        // The edge's first connection to the cluster comes as a recovery too, and need not come at all before a loss.
        var lost = currentNumberOfGateways < previousNumberOfGateways || (connectionRecovered && _everConnected);
        _everConnected |= currentNumberOfGateways > 0;
        if (currentNumberOfGateways < previousNumberOfGateways || connectionRecovered)
        {
            if (lost)
            {
                Volatile.Write(ref _lossSignalled, 1);
            }

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
                // Asked at once, beside the settle (the sweep must not wait for it): the silo whose gateway was lost is
                // still active in the cluster's view for a while.
                var activeAtLoss = ActiveSilosAsync(stoppingToken);
                await Task.Delay(Settle, stoppingToken);
                _signals.Reader.TryRead(out _);
                var afterLoss = Interlocked.Exchange(ref _lossSignalled, 0) == 1;
                // The second sweep does not wait for the first one's retries (they may take a minute): the activations
                // deactivated at the declaration are forgotten until it comes. It ends those retries instead (it renews
                // every session, those included), so that the two do not renew at twice the parallelism meanwhile.
                using var superseded = new CancellationTokenSource();
                var afterDeath = SweepAfterDeathAsync(activeAtLoss, afterLoss, superseded, stoppingToken);
                await SweepAsync(stoppingToken, superseded.Token);
                await afterDeath;
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Shutting down.
        }
    }

    /// <summary>
    /// Renews every session and re-attaches every room, then retries those that failed a few times, unless
    /// <paramref name="superseded"/> says a full sweep took over.
    /// </summary>
    private async Task SweepAsync(CancellationToken stoppingToken, CancellationToken superseded = default)
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
            try
            {
                using var waiting = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken, superseded);
                await Task.Delay(RetryDelay, waiting.Token);
            }
            catch (OperationCanceledException) when (!stoppingToken.IsCancellationRequested)
            {
                return;
            }

            sweep = sweep.Failed.Count > 0 ? await sessions.RenewAsync(sweep.Failed, Parallelism, afterSiloLoss: true, stoppingToken) : sweep with { Restored = 0 };
            failedRooms = failedRooms.Count > 0 ? await rooms.ReattachAsync(failedRooms, RoomParallelism, stoppingToken) : failedRooms;
            LogSwept(logger, sessions.OpenSessions, sweep.Restored, sweep.Failed.Count, rooms.RoomCount, failedRooms.Count);
        }
    }

    /// <summary>
    /// Sweeps again once a silo of <paramref name="activeAtLoss"/> is declared dead, if one is. When the cluster could not
    /// say which silos were active at the loss (the management grain itself may have been on the lost silo, and answers
    /// again only once it is declared dead and activated elsewhere), it sweeps again at the first answer instead.
    /// </summary>
    private async Task SweepAfterDeathAsync(Task<HashSet<SiloAddress>?> activeAtLoss, bool afterLoss, CancellationTokenSource firstSweepsRetries, CancellationToken stoppingToken)
    {
        if (!afterLoss)
        {
            return;
        }

        var active = await activeAtLoss;
        var dead = await WaitForDeathDeclarationAsync(active, stoppingToken);
        if (dead is null)
        {
            return;
        }

        LogSweepAfterDeath(logger, dead);
        // Each silo drops the dead one's directory entries when its own view of the membership changes, not all in the
        // same instant: a little later than the first to see it, so that the sweep finds them dropped.
        await Task.Delay(DeathDeclarationSettle, stoppingToken);
        await firstSweepsRetries.CancelAsync();
        await SweepAsync(stoppingToken);
    }

    /// <summary>The silos active now, or null when the cluster cannot say within <see cref="ActiveSilosTimeout"/>.</summary>
    private async Task<HashSet<SiloAddress>?> ActiveSilosAsync(CancellationToken stoppingToken)
    {
        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(stoppingToken);
            timeout.CancelAfter(ActiveSilosTimeout);
            return [.. (await Management.GetHosts(onlyActive: true, timeout.Token)).Keys];
        }
        catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
        {
            // Boundary: the cluster is out of reach, or the call went to the lost silo; asked again at the next poll.
            LogActiveSilosUnknown(logger, ex.Message);
            return null;
        }
    }

    /// <summary>
    /// Waits, for at most <see cref="DeathDeclarationPatience"/>, until a silo of <paramref name="active"/> is no longer
    /// active (declared dead, or stopping) and says which; with no <paramref name="active"/> to compare with, until the
    /// cluster answers at all. Null when neither came (the gateway came back), or a new signal came (it sweeps anyway).
    /// </summary>
    private async Task<string?> WaitForDeathDeclarationAsync(HashSet<SiloAddress>? active, CancellationToken stoppingToken)
    {
        var deadline = DateTime.UtcNow + DeathDeclarationPatience;
        while (DateTime.UtcNow < deadline && !_signals.Reader.TryPeek(out _))
        {
            await Task.Delay(DeathDeclarationPoll, stoppingToken);
            if (await ActiveSilosAsync(stoppingToken) is not { } now)
            {
                continue;
            }

            if (active is null)
            {
                return "a silo (the cluster did not answer at the loss)";
            }

            if (active.FirstOrDefault(silo => !now.Contains(silo)) is { } dead)
            {
                return dead.ToString();
            }
        }

        return null;
    }

    [LoggerMessage(2, LogLevel.Information, "After a lost gateway, {Silo} left the active silos: renewing this edge's devices and rooms again (activations whose directory registration it held were deactivated)")]
    private static partial void LogSweepAfterDeath(ILogger logger, string silo);

    [LoggerMessage(3, LogLevel.Debug, "The cluster's active silos could not be read after a lost gateway (asked again shortly): {Reason}")]
    private static partial void LogActiveSilosUnknown(ILogger logger, string reason);

    [LoggerMessage(1, LogLevel.Information, "A gateway was lost or the cluster came back: renewed the devices of {Sessions} sessions with their user grains, {Restored} registered again by a grain that had forgotten them, {Failed} failed; told the rooms with devices here ({Rooms} now) their members here, {FailedRooms} failed")]
    private static partial void LogSwept(ILogger logger, int sessions, int restored, int failed, int rooms, int failedRooms);
}
