using Orleans.Concurrency;

namespace Orleans.Im.Stats;

/// <summary>
/// Collects periodic reports of silos and edge hosts into cluster-wide figures for the admin API. Key:
/// <see cref="DefaultKey"/>. Reports are one-way and cheap; a reporter that stops reporting drops out after 30 s.
/// </summary>
[Alias("im.IClusterStatsGrain")]
public interface IClusterStatsGrain : IGrainWithStringKey
{
    /// <summary>The key of the deployment's stats grain.</summary>
    const string DefaultKey = "cluster";

    /// <summary>A silo's running total of messages it stored.</summary>
    [Alias("ReportSilo"), OneWay]
    Task ReportSiloAsync(string siloId, long messagesStored);

    /// <summary>An edge host's open connections and users.</summary>
    [Alias("ReportEdge"), OneWay]
    Task ReportEdgeAsync(string edgeId, long connections, long users);

    /// <summary>The figures now.</summary>
    [Alias("Get"), ReadOnly]
    Task<ClusterStats> GetAsync();
}
