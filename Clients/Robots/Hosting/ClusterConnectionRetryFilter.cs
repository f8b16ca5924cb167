using Microsoft.Extensions.Logging;

namespace Orleans.Im.Robots.Hosting;

/// <summary>
/// Keeps trying to reach the cluster at start-up instead of failing the process: a robot may start before any silo
/// (or while all are restarting), like an edge host.
/// </summary>
internal sealed partial class ClusterConnectionRetryFilter(ILogger<ClusterConnectionRetryFilter> logger) : IClientConnectionRetryFilter
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        LogRetrying(logger, exception.Message);
        try
        {
            await Task.Delay(RetryDelay, cancellationToken);
        }
        catch (OperationCanceledException)
        {
            return false;
        }

        return true;
    }

    [LoggerMessage(1, LogLevel.Warning, "Cluster not reachable yet ({Reason}); retrying")]
    private static partial void LogRetrying(ILogger logger, string reason);
}
