namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>The wait between two renewal sweeps (devices with their user grains, rooms with their room grains).</summary>
internal static class RenewalTicks
{
    /// <summary>True at the next tick; false once the host stops (not an exception: stopping is how a sweep loop ends).</summary>
    public static async Task<bool> NextAsync(PeriodicTimer timer, CancellationToken stoppingToken)
    {
        try
        {
            return await timer.WaitForNextTickAsync(stoppingToken);
        }
        catch (OperationCanceledException) when (stoppingToken.IsCancellationRequested)
        {
            return false;
        }
    }
}
