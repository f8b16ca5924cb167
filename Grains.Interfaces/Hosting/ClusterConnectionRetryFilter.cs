using Microsoft.Extensions.Logging;

namespace Orleans.Im.Hosting;

/// <summary>
/// Keeps a cluster client (edge host, robot) trying to reach the cluster at start-up instead of failing the process: it
/// may start before any silo, or while all are restarting (an edge host's <c>/healthz</c> says unavailable meanwhile).
/// Shared here because it is the one project every cluster client references.
/// </summary>
public sealed partial class ClusterConnectionRetryFilter(ILogger<ClusterConnectionRetryFilter> logger) : IClientConnectionRetryFilter
{
    private static readonly TimeSpan RetryDelay = TimeSpan.FromSeconds(2);

    /// <inheritdoc />
    public async Task<bool> ShouldRetryConnectionAttempt(Exception exception, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(exception);
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
