using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Microsoft.Extensions.Options;
using Orleans.Im.Users;

namespace Orleans.Im.Edges;

/// <summary>
/// On each silo, every <see cref="UserOptions.LostEdgeCheckInterval"/>: asks the edge directory for the edge hosts it
/// dropped as lost since the last time, and tells the user grains on this silo with devices there
/// (<see cref="LocalEdgeDevices"/>, <see cref="IUserGrain.OnEdgeLostAsync"/>). Without it, the devices of an edge host
/// that crashed stayed registered until their leases ran out (up to one and a half leases, ~22 minutes by default):
/// their users looked online to everyone, and, the grains thinking the messages pushed, no phone was notified of any.
/// </summary>
public sealed partial class LostEdgeSweeper(IGrainFactory grains, LocalEdgeDevices devices, IOptions<UserOptions> options, ILogger<LostEdgeSweeper> logger)
    : BackgroundService
{
    /// <summary>User grains told at once: an edge of 20,000 users must not crowd out the silo's other calls.</summary>
    private const int Parallelism = 16;

    private Guid _directory;
    private long _seen;

    protected override async Task ExecuteAsync(CancellationToken stoppingToken)
    {
        using var timer = new PeriodicTimer(options.Value.LostEdgeCheckInterval);
        try
        {
            while (await timer.WaitForNextTickAsync(stoppingToken))
            {
                try
                {
                    await SweepAsync(stoppingToken);
                }
                catch (Exception ex) when (!stoppingToken.IsCancellationRequested)
                {
                    // Boundary: the silo is still starting, or the directory's silo is unreachable; asked again next time
                    // (losses are remembered for minutes).
                    LogAskFailed(logger, ex.Message);
                }
            }
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            // Stopping.
        }
    }

    private async Task SweepAsync(CancellationToken stoppingToken)
    {
        var answer = await grains.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey).GetLossesAsync(_directory, _seen);
        _directory = answer.Directory;
        _seen = answer.Version;
        foreach (var loss in answer.Losses)
        {
            var users = devices.UsersOn(loss.EdgeId);
            if (users.Length == 0)
            {
                continue;
            }

            var failed = 0;
            await Parallel.ForEachAsync(users, new ParallelOptions { MaxDegreeOfParallelism = Parallelism, CancellationToken = stoppingToken }, async (userId, _) =>
            {
                try
                {
                    await grains.For<IUserGrain>(userId).OnEdgeLostAsync(loss.EdgeId, loss.LastHeard, loss.LostAt);
                }
                catch (Exception) when (!stoppingToken.IsCancellationRequested)
                {
                    // Boundary: that grain's devices there are dropped when their leases run out instead.
                    Interlocked.Increment(ref failed);
                }
            });
            LogEdgeLost(logger, loss.EdgeId, users.Length, failed);
        }
    }

    [LoggerMessage(1, LogLevel.Information, "Edge host {EdgeId} was lost: its devices dropped from {Users} users on this silo ({Failed} not reached: theirs go when their leases run out)")]
    private static partial void LogEdgeLost(ILogger logger, string edgeId, int users, int failed);

    [LoggerMessage(2, LogLevel.Debug, "Asking the edge directory for lost edge hosts failed: {Reason}")]
    private static partial void LogAskFailed(ILogger logger, string reason);
}
