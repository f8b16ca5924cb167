using Microsoft.Diagnostics.Runtime;

namespace Orleans.Im.Bench.Heap;

/// <summary>
/// Walks the managed heap of a dump with ClrMD and counts its objects by type and by generation. Every object the
/// heap holds is counted, reachable or not: ClrMD has no cheap liveness test (a root walk per object is far too slow
/// for millions), which is why <see cref="HeapCommand"/> induces a full blocking GC before the dump.
/// </summary>
public static class HeapWalker
{
    private const string UnknownType = "<unknown type>";

    /// <summary>Reads <paramref name="dumpPath"/>; throws <see cref="InvalidDataException"/> when it holds no walkable .NET heap.</summary>
    public static HeapCensus Walk(string dumpPath)
    {
        // No symbol servers: the DAC is taken from the runtime directory of the dumped process, which is on this machine.
        using var target = DataTarget.LoadDump(dumpPath, new DataTargetOptions { SymbolPaths = [] });
        var clr = target.ClrVersions.FirstOrDefault() ?? throw new InvalidDataException("the dump holds no .NET runtime");
        // The version check would fail on the 0.0 such dumps report (see RuntimeVersion); the DAC beside the runtime matches it.
        using var runtime = clr.CreateRuntime(LocalDac(clr), ignoreMismatch: true);
        var heap = runtime.Heap;
        if (!heap.CanWalkHeap)
        {
            throw new InvalidDataException("the heap cannot be walked (was the dump taken during a GC?)");
        }

        var byMethodTable = new Dictionary<ulong, (ClrType? Type, long Count, long Bytes)>();
        var generations = new Dictionary<string, (long Objects, long Bytes, long Committed)>(StringComparer.Ordinal);
        long freeObjects = 0, freeBytes = 0;
        foreach (var segment in heap.Segments)
        {
            var kind = KindName(segment.Kind);
            var committed = generations.GetValueOrDefault(kind);
            generations[kind] = committed with { Committed = committed.Committed + (long)segment.CommittedMemory.Length };
            foreach (var obj in segment.EnumerateObjects())
            {
                var size = (long)obj.Size;
                if (obj.IsFree)
                {
                    freeObjects++;
                    freeBytes += size;
                    continue;
                }

                var key = obj.Type?.MethodTable ?? 0;
                var tally = byMethodTable.GetValueOrDefault(key);
                byMethodTable[key] = (tally.Type ?? obj.Type, tally.Count + 1, tally.Bytes + size);
                var generation = GenerationName(segment.GetGeneration(obj.Address));
                var inGeneration = generations.GetValueOrDefault(generation);
                generations[generation] = (inGeneration.Objects + 1, inGeneration.Bytes + size, inGeneration.Committed);
            }
        }

        // Keyed by method table while walking (no name lookup per object); types of the same name loaded twice are merged here.
        var types = byMethodTable.Values
            .GroupBy(t => t.Type?.Name ?? UnknownType, StringComparer.Ordinal)
            .Select(g => new TypeTally(g.Key, g.Sum(t => t.Count), g.Sum(t => t.Bytes)))
            .OrderByDescending(t => t.Bytes).ThenBy(t => t.Type, StringComparer.Ordinal)
            .ToList();
        var generationTallies = generations.OrderBy(g => GenerationOrder(g.Key))
            .Select(g => new GenerationTally(g.Key, g.Value.Objects, g.Value.Bytes, g.Value.Committed)).ToList();
        return new HeapCensus(types, generationTallies, types.Sum(t => t.Count), types.Sum(t => t.Bytes), freeObjects, freeBytes,
            generationTallies.Sum(g => g.CommittedBytes), heap.IsServer, heap.SubHeaps.Length, RuntimeVersion(clr));
    }

    /// <summary>
    /// The DAC that ships beside the dumped runtime (libcoreclr.so): the same machine took the dump, so that file is
    /// the one built with the runtime.
    /// </summary>
    private static string LocalDac(ClrInfo clr)
    {
        var besideRuntime = Path.Combine(Path.GetDirectoryName(clr.ModuleInfo.FileName) ?? "", "libmscordaccore.so");
        return File.Exists(besideRuntime)
            ? besideRuntime
            : throw new InvalidDataException($"no DAC beside the dumped runtime {clr.ModuleInfo.FileName}");
    }

    /// <summary>
    /// The runtime's version; heap dumps of .NET 10 on Linux lack the version resource ClrMD reads (it sees 0.0), and
    /// then the version is the name of the runtime's directory (…/Microsoft.NETCore.App/10.0.12/).
    /// </summary>
    private static string RuntimeVersion(ClrInfo clr) => clr.Version.Major > 0
        ? clr.Version.ToString()
        : Path.GetFileName(Path.GetDirectoryName(clr.ModuleInfo.FileName)) ?? "unknown";

    private static string KindName(GCSegmentKind kind) => kind switch
    {
        GCSegmentKind.Generation0 => "gen0",
        GCSegmentKind.Generation1 => "gen1",
        GCSegmentKind.Generation2 => "gen2",
        GCSegmentKind.Large => "LOH",
        GCSegmentKind.Pinned => "POH",
        GCSegmentKind.Frozen => "frozen",
        // Segments mode (not regions): one segment holds gen0, gen1 and part of gen2; its objects still go by generation.
        _ => "ephemeral segment",
    };

    private static string GenerationName(Generation generation) => generation switch
    {
        Generation.Generation0 => "gen0",
        Generation.Generation1 => "gen1",
        Generation.Generation2 => "gen2",
        Generation.Large => "LOH",
        Generation.Pinned => "POH",
        Generation.Frozen => "frozen",
        _ => "unknown",
    };

    private static int GenerationOrder(string name) => name switch
    {
        "gen0" => 0,
        "gen1" => 1,
        "gen2" => 2,
        "LOH" => 3,
        "POH" => 4,
        "frozen" => 5,
        _ => 6,
    };
}
