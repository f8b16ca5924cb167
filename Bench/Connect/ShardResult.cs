namespace Orleans.Im.Bench.Connect;

/// <summary>What one generator process did; children print it as one line for the parent.</summary>
/// <param name="Opened">Connections signed in.</param>
/// <param name="Failed">Connections that did not sign in within the login timeout (retries included).</param>
/// <param name="Dropped">Signed-in connections the server closed during the hold.</param>
/// <param name="ConnectSeconds">From the first attempt to the last login answered.</param>
/// <param name="ConnectCpuSeconds">This process's CPU during the connect phase.</param>
/// <param name="HoldCpuSeconds">This process's CPU during the hold, up to the close (the closes are not part of it).</param>
/// <param name="FirstError">The first failure's message, if any.</param>
/// <param name="Refused">Login attempts the edge refused as busy (retryable) and that were tried again after a backoff.</param>
public sealed record ShardResult(int Opened, int Failed, int Dropped, double ConnectSeconds, double ConnectCpuSeconds, double HoldCpuSeconds, string? FirstError, int Refused = 0);
