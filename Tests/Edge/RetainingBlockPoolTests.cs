using System.Buffers;
using System.Runtime.InteropServices;
using Orleans.Im.EdgeHost.Memory;

namespace Orleans.Im.Tests.Edge;

[Trait("Category", "Unit")]
public sealed class RetainingBlockPoolTests
{
    [Fact]
    public void A_returned_block_is_rented_again_and_one_still_out_is_not()
    {
        using var pool = new RetainingBlockPool();

        var first = pool.Rent();
        var second = pool.Rent();
        Assert.Equal(RetainingBlockPool.BlockSize, first.Memory.Length);
        Assert.False(SameBlock(first, second));
        Assert.Equal(2, pool.AllocatedBlocks);

        first.Memory.Span[0] = 42;
        var firstMemory = first.Memory;
        first.Dispose();
        Assert.Equal(1, pool.FreeBlocks);

        var third = pool.Rent();
        Assert.True(MemoryMarshal.TryGetArray<byte>(third.Memory, out var segment));
        Assert.True(MemoryMarshal.TryGetArray<byte>(firstMemory, out var firstSegment));
        Assert.Same(firstSegment.Array, segment.Array);
        Assert.Equal(42, third.Memory.Span[0]);
        Assert.Equal(2, pool.AllocatedBlocks);
        Assert.Equal(0, pool.FreeBlocks);
        second.Dispose();
        third.Dispose();
    }

    [Fact]
    public void Blocks_are_pinned_and_kept_however_long_they_sit_unused()
    {
        using var pool = new RetainingBlockPool();
        var blocks = Enumerable.Range(0, 100).Select(_ => pool.Rent()).ToList();
        blocks.ForEach(b => b.Dispose());

        // Nothing evicts them: no timer, and a collection in between does not shrink the pool.
        GC.Collect();
        Assert.Equal(100, pool.FreeBlocks);
        Assert.Equal(100, pool.AllocatedBlocks);
        using var handle = pool.Rent().Memory.Pin();
        Assert.Equal(99, pool.FreeBlocks);
        Assert.Equal(100, pool.AllocatedBlocks);
    }

    [Fact]
    public void Larger_buffers_than_a_block_and_a_disposed_pool_are_refused()
    {
        var pool = new RetainingBlockPool();
        Assert.Equal(RetainingBlockPool.BlockSize, pool.MaxBufferSize);
        Assert.Throws<ArgumentOutOfRangeException>(() => pool.Rent(RetainingBlockPool.BlockSize + 1));

        var block = pool.Rent();
        pool.Dispose();
        block.Dispose();

        Assert.Equal(0, pool.FreeBlocks);
        Assert.Throws<ObjectDisposedException>(() => pool.Rent());
    }

    [Fact]
    public void The_factory_counts_the_blocks_of_every_pool_it_made()
    {
        var factory = new RetainingBlockPoolFactory();
        using var a = factory.Create();
        using var b = factory.Create();
        var kept = a.Rent();
        b.Rent().Dispose();

        Assert.Equal(2, factory.AllocatedBlocks);
        Assert.Equal(1, factory.FreeBlocks);
        kept.Dispose();
        Assert.Equal(2, factory.FreeBlocks);
    }

    private static bool SameBlock(IMemoryOwner<byte> a, IMemoryOwner<byte> b) =>
        MemoryMarshal.TryGetArray<byte>(a.Memory, out var x) && MemoryMarshal.TryGetArray<byte>(b.Memory, out var y) && ReferenceEquals(x.Array, y.Array);
}
