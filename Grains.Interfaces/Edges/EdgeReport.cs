namespace Orleans.Im.Edges;

/// <summary>What an edge host reports about itself every few seconds.</summary>
/// <param name="EdgeId">Its id.</param>
/// <param name="TcpAddresses">Where clients reach its mobile protocol (<c>host:port</c>).</param>
/// <param name="WebSocketUrl">Where web clients reach its chat hub.</param>
/// <param name="Connections">Open device connections.</param>
/// <param name="CpuPercent">Its process's CPU use over the last interval, in percent of the whole machine.</param>
/// <param name="ReportInterval">How often it reports; it is dropped after three intervals without a report.</param>
/// <param name="Draining">Going away: not offered to clients.</param>
/// <param name="Incarnation">
/// This run of the edge host's process (new at each start; empty from edges built before it). Edge ids are configured
/// and kept across restarts: a report of a new incarnation says the previous one is gone, with its connections, even when
/// it came back too soon to be found silent.
/// </param>
[GenerateSerializer, Immutable, Alias("im.EdgeReport")]
public sealed record EdgeReport(
    [property: Id(0)] string EdgeId,
    [property: Id(1)] IReadOnlyList<string> TcpAddresses,
    [property: Id(2)] string WebSocketUrl,
    [property: Id(3)] long Connections,
    [property: Id(4)] double CpuPercent,
    [property: Id(5)] TimeSpan ReportInterval,
    [property: Id(6)] bool Draining,
    [property: Id(7)] string Incarnation = "");
