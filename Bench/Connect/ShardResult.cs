namespace Orleans.Im.Bench.Connect;

/// <summary>What one generator process did; children print it as one line for the parent.</summary>
/// <param name="Opened">Connections signed in.</param>
/// <param name="Failed">Connections that did not sign in within the login timeout (retries included).</param>
/// <param name="Dropped">Signed-in connections the server closed during the hold.</param>
/// <param name="ConnectStarted">When this process made its first attempt.</param>
/// <param name="ConnectEnded">When its last login answered.</param>
/// <param name="FirstError">The first failure's message, if any.</param>
/// <param name="Refused">Login attempts the edge refused as busy (retryable) and that were tried again after a backoff.</param>
public sealed record ShardResult(int Opened, int Failed, int Dropped, DateTimeOffset ConnectStarted, DateTimeOffset ConnectEnded, string? FirstError, int Refused = 0)
{
    /// <summary>
    /// From the first attempt of any process to the last login of any: the processes start one after another, so the
    /// longest one's own span is shorter than the ramp the servers saw, and logins per second over it too high.
    /// </summary>
    public static double ConnectSeconds(IReadOnlyCollection<ShardResult> shards)
    {
        ArgumentNullException.ThrowIfNull(shards);
        return shards.Count == 0 ? 0 : (shards.Max(s => s.ConnectEnded) - shards.Min(s => s.ConnectStarted)).TotalSeconds;
    }
}
