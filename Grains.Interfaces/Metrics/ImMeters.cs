namespace Orleans.Im.Metrics;

/// <summary>
/// The names of this product's meters. Every meter whose name starts with <see cref="Prefix"/> is exported on
/// <c>/metrics</c> by <see cref="PrometheusExporter"/>; a new feature adds its own meter and needs nothing else.
/// </summary>
public static class ImMeters
{
    /// <summary>What every exported meter's name starts with.</summary>
    public const string Prefix = "Orleans.Im";

    /// <summary>The edge host: connections, frames, messages, pushes.</summary>
    public const string Edge = "Orleans.Im.Edge";

    /// <summary>The silo's PostgreSQL storage: group commits.</summary>
    public const string Storage = "Orleans.Im.Storage";

    /// <summary>The silo's push path: calls to edges' push observers and the batches they carry.</summary>
    public const string Push = "Orleans.Im.Push";

    /// <summary>Process figures every host exports (memory, file descriptors, CPU).</summary>
    public const string Process = "Orleans.Im.Process";

    /// <summary>True for a meter this product exports.</summary>
    /// <param name="meterName">The meter's name.</param>
    public static bool IsOurs(string meterName) =>
        meterName.StartsWith(Prefix, StringComparison.Ordinal)
        && (meterName.Length == Prefix.Length || meterName[Prefix.Length] == '.');
}
