namespace Orleans.Im.Bench.Heap;

/// <summary>The objects of one type on the heap: how many, and their shallow size (the object itself, not what it references).</summary>
public sealed record TypeTally(string Type, long Count, long Bytes);
