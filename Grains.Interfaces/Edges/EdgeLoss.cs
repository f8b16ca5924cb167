namespace Orleans.Im.Edges;

/// <summary>An edge host the directory dropped because it stopped reporting (it died, or cannot reach the cluster).</summary>
/// <param name="EdgeId">The edge host.</param>
/// <param name="LastHeard">Its last report: what was pushed to its connections since may never have reached them.</param>
/// <param name="LostAt">When the directory dropped it: a device its edge registered or renewed after this is alive.</param>
/// <param name="Version">The directory's count of losses when this one was recorded (see <see cref="EdgeLosses"/>).</param>
[GenerateSerializer, Immutable, Alias("im.EdgeLoss")]
public sealed record EdgeLoss(
    [property: Id(0)] string EdgeId,
    [property: Id(1)] DateTimeOffset LastHeard,
    [property: Id(2)] DateTimeOffset LostAt,
    [property: Id(3)] long Version);
