namespace Orleans.Im.Bench.Heap;

/// <summary>
/// What a heap walk found: every type with its object count and shallow bytes (largest first), the generations, and
/// the totals. Free space between objects (the GC's free objects) is counted apart, not as a type.
/// </summary>
public sealed record HeapCensus(
    IReadOnlyList<TypeTally> Types,
    IReadOnlyList<GenerationTally> Generations,
    long Objects,
    long Bytes,
    long FreeObjects,
    long FreeBytes,
    long CommittedBytes,
    bool IsServerGc,
    int SubHeaps,
    string RuntimeVersion);
