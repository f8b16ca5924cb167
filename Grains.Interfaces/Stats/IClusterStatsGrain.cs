using Orleans.Concurrency;

namespace Orleans.Im.Stats;

/// <summary>
/// Collects periodic reports of silos and edge hosts into cluster-wide figures for the admin API. Key:
/// <see cref="DefaultKey"/>. Reports are one-way and cheap; a reporter that stops reporting drops out after
/// <see cref="MissedReportsAllowed"/> of its report intervals.
/// </summary>
[Alias("im.IClusterStatsGrain")]
public interface IClusterStatsGrain : IGrainWithStringKey
{
    /// <summary>The key of the deployment's stats grain.</summary>
    const string DefaultKey = "cluster";

    /// <summary>Reports a reporter may miss before it no longer counts (as the edge directory's rule).</summary>
    const int MissedReportsAllowed = 3;

    /// <summary>A silo's running total of messages it stored, reported every <paramref name="interval"/>.</summary>
    [Alias("ReportSiloEvery"), OneWay]
    Task ReportSiloAsync(string siloId, long messagesStored, TimeSpan interval);

    /// <summary>An edge host's open connections and users, reported every <paramref name="interval"/>.</summary>
    [Alias("ReportEdgeEvery"), OneWay]
    Task ReportEdgeAsync(string edgeId, long connections, long users, TimeSpan interval);

    /// <summary>
    /// The same report from hosts not yet upgraded, which do not say their interval (taken as 10 s). Kept so that a
    /// rolling upgrade keeps the figures; remove in the release after.
    /// </summary>
    [Alias("ReportSilo"), OneWay]
    Task ReportSiloAsync(string siloId, long messagesStored);

    /// <inheritdoc cref="ReportSiloAsync(string, long)"/>
    [Alias("ReportEdge"), OneWay]
    Task ReportEdgeAsync(string edgeId, long connections, long users);

    /// <summary>The figures now.</summary>
    [Alias("Get"), ReadOnly]
    Task<ClusterStats> GetAsync();
}
