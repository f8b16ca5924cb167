namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// One send per target of a call that writes to many conversations (an official account's reach, a system notice to a
/// list of users), a few at a time, each answered on its own.
/// </summary>
public static class PerTargetSends
{
    /// <summary>
    /// Sends under way at once: a thousand at a time all wait on the sender's own user grain (each new conversation joins
    /// it there, one by one) and time out together; a few dozen keep it busy without a queue.
    /// </summary>
    public const int InFlight = 32;

    /// <summary>
    /// Runs <paramref name="send"/> for each target, at most <see cref="InFlight"/> at once, in the targets' order. A
    /// target whose send the cluster could not answer is answered <paramref name="unavailable"/> (retry the same call: the
    /// others answer duplicate), not a 503 for the whole call that throws away what the rest were answered.
    /// </summary>
    public static async Task<TResult[]> RunAsync<TTarget, TResult>(
        IEnumerable<TTarget> targets, Func<TTarget, Task<TResult>> send, Func<TTarget, TResult> unavailable)
    {
        ArgumentNullException.ThrowIfNull(send);
        ArgumentNullException.ThrowIfNull(unavailable);
        using var inFlight = new SemaphoreSlim(InFlight);
        return await Task.WhenAll(targets.Select(async target =>
        {
            await inFlight.WaitAsync();
            try
            {
                return await send(target);
            }
            catch (Exception ex) when (ApiExceptionHandler.IsUnavailable(ex))
            {
                // Boundary, per target.
                return unavailable(target);
            }
            finally
            {
                inFlight.Release();
            }
        }));
    }
}
