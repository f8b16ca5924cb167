using System.Buffers;
using System.Collections.Concurrent;

namespace Orleans.Im.EdgeHost.Memory;

/// <summary>
/// Kestrel's socket buffers as before .NET 10: pinned 4 KB blocks that are reused and never evicted. .NET 10's pool evicts
/// idle blocks on Kestrel's heartbeat; an edge of idle connections that ping then rents new ones, and each evicted block
/// is garbage on the pinned object heap, which only a generation-2 collection frees — and an idle edge runs none. Held
/// 19,000 connections, that heap grew ~1.5 MB a minute (8.6 → 20.6 MB in 8 minutes) and the edge's memory per connection
/// with it (docs/BENCHMARKS.md, seventh session). Kept blocks cost what the busiest moment needed, which is what an edge
/// host is sized for anyway. Used when <see cref="EdgeOptions.RetainSocketBuffers"/> is on (on by default).
/// </summary>
public sealed class RetainingBlockPool : MemoryPool<byte>
{
    /// <summary>The size of every block: a page, as Kestrel's own pool.</summary>
    public const int BlockSize = 4096;

    private readonly ConcurrentQueue<Block> _free = new();
    private long _allocated;
    private volatile bool _disposed;

    /// <summary>Blocks this pool has made: rented now, or waiting to be rented again.</summary>
    public long AllocatedBlocks => Interlocked.Read(ref _allocated);

    /// <summary>Returned blocks waiting to be rented again.</summary>
    public int FreeBlocks => _free.Count;

    /// <inheritdoc />
    public override int MaxBufferSize => BlockSize;

    /// <inheritdoc />
    public override IMemoryOwner<byte> Rent(int minBufferSize = -1)
    {
        ArgumentOutOfRangeException.ThrowIfGreaterThan(minBufferSize, BlockSize);
        ObjectDisposedException.ThrowIf(_disposed, this);
        if (_free.TryDequeue(out var block))
        {
            return block;
        }

        Interlocked.Increment(ref _allocated);
        return new Block(this);
    }

    /// <inheritdoc />
    protected override void Dispose(bool disposing)
    {
        _disposed = true;
        _free.Clear();
    }

    private void Return(Block block)
    {
        if (!_disposed)
        {
            _free.Enqueue(block);
        }
    }

    /// <summary>One pinned block; disposing it (its renter is done) puts it back for the next renter.</summary>
    private sealed class Block(RetainingBlockPool pool) : IMemoryOwner<byte>
    {
        // On the pinned object heap, as Kestrel's own blocks: the GC never moves it nor compacts around it while a socket
        // operation holds it, and its memory is array-backed, the cheapest kind to slice and span.
        public Memory<byte> Memory { get; } = GC.AllocateUninitializedArray<byte>(BlockSize, pinned: true);

        public void Dispose() => pool.Return(this);
    }
}
