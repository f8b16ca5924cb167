namespace Orleans.Im.Bench.Load;

/// <summary>
/// When a run began and how loaded the machine was then. Taken before the run, because its report is written after it:
/// the load average read at that point would include the run itself.
/// </summary>
/// <param name="At">The run's start.</param>
/// <param name="LoadAverage">The 1, 5 and 15 minute load averages then (<see cref="SystemReadings.LoadAverage"/>).</param>
public sealed record RunStart(DateTimeOffset At, string LoadAverage)
{
    /// <summary>Now, with the current load average.</summary>
    public static RunStart Now() => new(DateTimeOffset.UtcNow, SystemReadings.LoadAverage());
}
