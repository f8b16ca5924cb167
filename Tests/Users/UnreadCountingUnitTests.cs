using Orleans.Im.Users;

namespace Orleans.Im.Tests.Users;

[Trait("Category", "Unit")]
public sealed class UnreadCountingUnitTests
{
    [Fact]
    public void Only_seqs_between_the_read_position_and_the_last_seq_are_counted_out()
    {
        // Read to 3, last 10: 7 unread, of which 5 and 9 were taken back; 2 (read) and 12 (not there yet) change nothing.
        Assert.Equal(5, UnreadCounting.Count(10, 3, [2, 5, 9, 12]));
        Assert.Equal(7, UnreadCounting.Count(10, 3, null));
        Assert.Equal(0, UnreadCounting.Count(3, 3, [4]));
        // A read position past the last seq (an entry that lags its conversation) is no negative count.
        Assert.Equal(0, UnreadCounting.Count(3, 5, [4]));
    }

    [Fact]
    public void Settling_keeps_the_seqs_above_the_read_position_sorted_and_once()
    {
        IReadOnlyList<long> kept = [4, 7];
        Assert.Same(kept, UnreadCounting.Settle(kept, 3));
        Assert.Same(kept, UnreadCounting.Settle(kept, 3, [7, 2]));
        Assert.Equal([5, 7, 9], UnreadCounting.Settle(kept, 4, [9, 5, 9]));
        Assert.Null(UnreadCounting.Settle(kept, 7));
        Assert.Null(UnreadCounting.Settle(null, 7, [6]));
    }

    [Fact]
    public void Past_the_limit_the_oldest_count_again()
    {
        var many = UnreadCounting.Settle(null, 0, Enumerable.Range(1, UnreadCounting.MaxUncounted + 10).Select(i => (long)i));
        Assert.Equal(UnreadCounting.MaxUncounted, many!.Count);
        Assert.Equal(11, many[0]);
        Assert.Equal(10, UnreadCounting.Count(UnreadCounting.MaxUncounted + 10, 0, many));
    }
}
