namespace Orleans.Im.Stats;

/// <summary>Basic figures of the whole cluster, from the silos' and edge hosts' latest reports.</summary>
/// <param name="Silos">Silos that reported recently.</param>
/// <param name="EdgeHosts">Edge hosts that reported recently.</param>
/// <param name="Connections">Open device connections, all edges and transports.</param>
/// <param name="OnlineUsers">Users with a connected device, summed over edges (a user on two edges counts twice).</param>
/// <param name="MessagesPerMinute">Messages stored in the last minute (extrapolated while less than a minute is known).</param>
[GenerateSerializer, Immutable, Alias("im.ClusterStats")]
public sealed record ClusterStats(
    [property: Id(0)] int Silos,
    [property: Id(1)] int EdgeHosts,
    [property: Id(2)] long Connections,
    [property: Id(3)] long OnlineUsers,
    [property: Id(4)] double MessagesPerMinute);
