namespace Orleans.Im;

/// <summary>
/// Grain references by string key without Orleans' per-call type resolution: <c>IGrainFactory.GetGrain&lt;T&gt;(string)</c>
/// resolves the interface's <see cref="GrainInterfaceType"/> by reflection on every call (custom attributes and a type
/// name format), which was ~5 % of the silo's CPU and ~7 % of the edge's under p2p load, all in the per-message paths.
/// The interface and grain types are resolved once per interface, from the first reference Orleans made the usual way.
/// </summary>
public static class GrainReferences
{
    /// <summary>
    /// The reference to <typeparamref name="TGrain"/> with key <paramref name="key"/>; the same as
    /// <c>factory.GetGrain&lt;TGrain&gt;(key)</c>.
    /// </summary>
    public static TGrain For<TGrain>(this IGrainFactory factory, string key) where TGrain : IGrainWithStringKey
    {
        ArgumentNullException.ThrowIfNull(factory);
        if (ResolvedTypes<TGrain>.Types is { } types)
        {
            ArgumentException.ThrowIfNullOrWhiteSpace(key);
            return (TGrain)factory.GetGrain(GrainId.Create(types.GrainType, IdSpan.Create(key)), types.InterfaceType);
        }

        var grain = factory.GetGrain<TGrain>(key);
        if (grain is GrainReference reference
            // A client that has not yet seen the cluster's type map gets a provisional type ("sys." prefix): not kept.
            && !reference.GrainId.Type.ToString()!.StartsWith(GrainTypePrefix.SystemPrefix, StringComparison.Ordinal))
        {
            ResolvedTypes<TGrain>.Types = new TypePair(reference.GrainId.Type, reference.InterfaceType);
        }

        return grain;
    }

    /// <summary>
    /// The reference, as <see cref="For{TGrain}(IGrainFactory, string)"/>; <paramref name="keepable"/> is true when it was
    /// built from the cluster's types. Before that (a client that has not yet seen the cluster's type map) a reference
    /// may carry a provisional type: usable for the call at hand, not one to keep for reuse.
    /// </summary>
    public static TGrain For<TGrain>(this IGrainFactory factory, string key, out bool keepable) where TGrain : IGrainWithStringKey
    {
        var grain = factory.For<TGrain>(key);
        keepable = ResolvedTypes<TGrain>.Types is not null;
        return grain;
    }

    private sealed record TypePair(GrainType GrainType, GrainInterfaceType InterfaceType);

    // One per interface, process-wide: both types follow from the interface and its single implementation, which every
    // silo and client of a deployment agree on.
    private static class ResolvedTypes<TGrain>
    {
        public static volatile TypePair? Types;
    }
}
