using Orleans.Concurrency;

namespace Orleans.Im.Edges;

/// <summary>
/// The registered edge hosts, their addresses and load. Key: <see cref="DefaultKey"/>. An edge that misses three reports
/// in a row is dropped (one miss is jitter, not death).
/// </summary>
[Alias("im.IEdgeDirectoryGrain")]
public interface IEdgeDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key of the deployment's directory.</summary>
    const string DefaultKey = "edges";

    /// <summary>An edge host's periodic report (also its registration).</summary>
    [Alias("Report"), OneWay]
    Task ReportAsync(EdgeReport report);

    /// <summary>An edge host leaves (graceful stop).</summary>
    [Alias("Remove")]
    Task RemoveAsync(string edgeId);

    /// <summary>The live, not draining edge hosts, least loaded first, at most <paramref name="count"/>.</summary>
    [Alias("GetLeastLoaded"), ReadOnly]
    Task<IReadOnlyList<EdgeReport>> GetLeastLoadedAsync(int count);
}
