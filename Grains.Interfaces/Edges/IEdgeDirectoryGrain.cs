using Orleans.Concurrency;

namespace Orleans.Im.Edges;

/// <summary>
/// The registered edge hosts, their addresses and load. Key: <see cref="DefaultKey"/>. An edge that misses three reports
/// in a row is dropped (one miss is jitter, not death) and recorded as lost: each silo asks for the losses
/// (<see cref="GetLossesAsync"/>) and drops the lost edge's devices from its user grains, so that their users go offline
/// and are notified again within seconds of an edge host's crash rather than when the devices' leases run out.
/// </summary>
[Alias("im.IEdgeDirectoryGrain")]
public interface IEdgeDirectoryGrain : IGrainWithStringKey
{
    /// <summary>The key of the deployment's directory.</summary>
    const string DefaultKey = "edges";

    /// <summary>An edge host's periodic report (also its registration), from edges built before <see cref="CheckInAsync"/>.</summary>
    [Alias("Report"), OneWay]
    Task ReportAsync(EdgeReport report);

    /// <summary>
    /// An edge host's periodic report (also its registration). True when the directory had dropped it as lost since its
    /// previous report (it was silent too long, maybe paused or cut off rather than dead): the silos may have dropped its
    /// devices, and it registers them again (<see cref="Users.IUserGrain.RenewDeviceAsync"/>).
    /// </summary>
    [Alias("CheckIn")]
    Task<bool> CheckInAsync(EdgeReport report);

    /// <summary>
    /// The edge hosts dropped as lost after <paramref name="afterVersion"/> of the directory activation
    /// <paramref name="directory"/> (all that are remembered when it is another activation), oldest first. Losses are
    /// remembered for <c>LossMemory</c>, and withdrawn when the edge reports again.
    /// </summary>
    [Alias("GetLosses")]
    Task<EdgeLosses> GetLossesAsync(Guid directory, long afterVersion);

    /// <summary>An edge host stops being offered to clients (it starts draining); its devices stay.</summary>
    [Alias("Remove")]
    Task RemoveAsync(string edgeId);

    /// <summary>
    /// An edge host's last word as it stops (run <paramref name="incarnation"/>): it leaves, and a device still registered
    /// through it (a connection whose disconnect failed on the way out, a silo failing over) is dropped by the silos as
    /// for an edge lost, not left online until its lease lapses. A device registered through the same edge id after this
    /// (its next run) stays.
    /// </summary>
    [Alias("Leave")]
    Task LeaveAsync(string edgeId, string incarnation);

    /// <summary>The live, not draining edge hosts, least loaded first, at most <paramref name="count"/>.</summary>
    [Alias("GetLeastLoaded"), ReadOnly]
    Task<IReadOnlyList<EdgeReport>> GetLeastLoadedAsync(int count);
}
