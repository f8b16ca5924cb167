namespace Orleans.Im.Client;

/// <summary>Spreads retry delays, so that clients that failed together (an edge crashed, a storage stall) do not retry together.</summary>
internal static class Jitter
{
    /// <summary><paramref name="delay"/> scaled by a random factor between 0.75 and 1.25.</summary>
    public static TimeSpan Spread(TimeSpan delay) => delay * (0.75 + (Random.Shared.NextDouble() / 2));
}
