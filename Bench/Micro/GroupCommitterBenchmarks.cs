using BenchmarkDotNet.Attributes;
using Orleans.Im.Silo.Storage;

namespace Orleans.Im.Bench.Micro;

/// <summary>
/// The group committer's own cost (Silo/Storage/GroupCommitter.cs) with a commit that does no I/O: what queueing,
/// batching and completing each caller's task costs per item, with 1 to 1,000 concurrent callers. The PostgreSQL side is
/// measured by the <c>groupcommit</c> command.
/// </summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
public class GroupCommitterBenchmarks : IDisposable
{
    /// <summary>Items per benchmark invocation, so the per-item cost is reported.</summary>
    private const int ItemsPerInvoke = 10_000;

    private GroupCommitter<int, int> _committer = null!;

    [Params(1, 100, 1000)]
    public int Callers { get; set; }

    [GlobalSetup]
    public void Setup() =>
        _committer = new GroupCommitter<int, int>(
            (batch, _) => Task.FromResult<IReadOnlyList<int>>(batch as IReadOnlyList<int> ?? [.. batch]),
            new GroupCommitOptions(), "bench");

    /// <summary>Stops the committer's workers (BenchmarkDotNet calls it once after the last iteration).</summary>
    [GlobalCleanup]
    public void Dispose()
    {
        _committer?.DisposeAsync().AsTask().GetAwaiter().GetResult();
        GC.SuppressFinalize(this);
    }

    [Benchmark(OperationsPerInvoke = ItemsPerInvoke)]
    public async Task EnqueueAndAwait()
    {
        var perCaller = ItemsPerInvoke / Callers;
        await Task.WhenAll(Enumerable.Range(0, Callers).Select(async caller =>
        {
            for (var i = 0; i < perCaller; i++)
            {
                await _committer.EnqueueAsync(caller * perCaller + i);
            }
        }));
    }
}
