using Orleans.Im.EdgeHost.Protocol;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Protocol;

[Trait("Category", "Unit")]
public sealed class FrameBudgetTests
{
    [Fact]
    public void Elements_are_taken_from_the_start_while_they_fit()
    {
        Assert.Equal(2, FrameBudget.CountThatFit([40, 50, 20], 100));
        Assert.Equal(3, FrameBudget.CountThatFit([40, 40, 20], 100));
    }

    [Fact]
    public void From_the_end_the_newest_are_kept()
    {
        Assert.Equal(2, FrameBudget.CountThatFit([50, 40, 50], 100, fromEnd: true));
    }

    [Fact]
    public void One_element_is_taken_even_when_it_alone_is_over_the_budget()
    {
        Assert.Equal(1, FrameBudget.CountThatFit([500, 1], 100));
        Assert.Equal(1, FrameBudget.CountThatFit([1, 500], 100, fromEnd: true));
        Assert.Equal(0, FrameBudget.CountThatFit([], 100));
    }

    [Fact]
    public void Element_sizes_add_up_to_the_size_of_the_frame_body()
    {
        var batch = new V1.PushBatch();
        var sum = 0;
        foreach (var text in new[] { "", "x", new string('y', 200), new string('z', 20_000) })
        {
            var wire = new V1.Event { Message = new V1.Message { ConversationId = "c", Seq = 1, Content = new V1.Content { Text = text } } };
            sum += FrameBudget.RepeatedElementSize(wire);
            batch.Events.Add(wire);
        }

        Assert.Equal(batch.CalculateSize(), sum);
    }
}
