namespace Orleans.Im.Tests.Faults;

/// <summary>
/// The fault drills run one after another (each starts its own processes and loads two shared cores), in parallel only
/// with the other collections.
/// </summary>
[CollectionDefinition(Name)]
public sealed class FaultGroup
{
    public const string Name = "faults";
}
