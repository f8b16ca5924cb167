using Orleans.Im.Hosting;

namespace Orleans.Im.Silo.Stats;

/// <summary>How often the silo reports its figures to the cluster stats grain. Bound from <c>IM:Stats</c>.</summary>
public sealed class StatsOptions
{
    public const string Section = "IM:Stats";

    [TimeSpanRange("00:00:00.100", "01:00:00")]
    public TimeSpan ReportInterval { get; set; } = TimeSpan.FromSeconds(10);
}
