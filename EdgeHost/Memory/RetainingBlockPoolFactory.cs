using System.Buffers;
using System.Collections.Concurrent;
using Microsoft.AspNetCore.Connections;

namespace Orleans.Im.EdgeHost.Memory;

/// <summary>
/// Gives Kestrel's transports a <see cref="RetainingBlockPool"/> instead of .NET 10's evicting pool (registered in place
/// of Kestrel's factory when <see cref="EdgeOptions.RetainSocketBuffers"/> is on), and sums its pools for the metrics.
/// </summary>
public sealed class RetainingBlockPoolFactory : IMemoryPoolFactory<byte>
{
    // One pool per listening endpoint: a handful for the host's life.
    private readonly ConcurrentBag<RetainingBlockPool> _pools = [];

    /// <summary>Blocks all pools have made (each <see cref="RetainingBlockPool.BlockSize"/> bytes).</summary>
    public long AllocatedBlocks => _pools.Sum(p => p.AllocatedBlocks);

    /// <summary>Blocks waiting in all pools to be rented again.</summary>
    public long FreeBlocks => _pools.Sum(p => (long)p.FreeBlocks);

    /// <inheritdoc />
    public MemoryPool<byte> Create(MemoryPoolOptions? options = null)
    {
        var pool = new RetainingBlockPool();
        _pools.Add(pool);
        return pool;
    }
}
