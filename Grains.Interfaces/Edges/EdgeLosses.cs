namespace Orleans.Im.Edges;

/// <summary>The edge hosts lost since a version of the directory's record (<see cref="IEdgeDirectoryGrain.GetLossesAsync"/>).</summary>
/// <param name="Directory">
/// The directory's activation: the record is in memory, so a new activation counts from zero again, and a caller that
/// saw another one takes all of this one's losses.
/// </param>
/// <param name="Version">The newest loss's version, to ask from next time.</param>
/// <param name="Losses">The losses after the version asked for (of this activation), oldest first.</param>
[GenerateSerializer, Immutable, Alias("im.EdgeLosses")]
public sealed record EdgeLosses(
    [property: Id(0)] Guid Directory,
    [property: Id(1)] long Version,
    [property: Id(2)] IReadOnlyList<EdgeLoss> Losses);
