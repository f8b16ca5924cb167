namespace Orleans.Im.EdgeHost.Cluster;

/// <summary>
/// Keeps trying to reach the cluster at start-up instead of failing the process: an edge host may start before
/// any silo (or while all are restarting), and <c>/healthz</c> reports it as unavailable until it connects.
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
