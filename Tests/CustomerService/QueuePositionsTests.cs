using Orleans.Im.CustomerService;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>Which queue positions a waiting user is told: every change near the head, moves of a fifth further back.</summary>
[Trait("Category", "Unit")]
public sealed class QueuePositionsTests
{
    [Theory]
    [InlineData(0, 250, true)] // never told
    [InlineData(3, 2, true)] // near the head, every change
    [InlineData(11, 10, true)]
    [InlineData(5, 5, false)]
    [InlineData(100, 99, false)] // further back, small moves are not told
    [InlineData(100, 81, false)]
    [InlineData(100, 80, true)]
    [InlineData(100, 120, true)] // sent back (sessions requeued at the head) by a fifth
    [InlineData(100, 110, false)]
    public void A_position_is_told_again_near_the_head_or_after_a_move_of_a_fifth(int told, int position, bool expected) =>
        Assert.Equal(expected, QueuePositions.ShouldTell(told, position));

    [Fact]
    public void Draining_a_long_queue_tells_each_user_a_few_dozen_positions_not_one_per_place()
    {
        const int Waiting = 1_000;
        var told = 0;
        var notices = 0;
        for (var position = Waiting; position >= 1; position--)
        {
            if (QueuePositions.ShouldTell(told, position))
            {
                told = position;
                notices++;
            }
        }

        Assert.Equal(1, told);
        Assert.InRange(notices, 10, 40);
    }
}
