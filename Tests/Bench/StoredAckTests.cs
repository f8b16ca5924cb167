using Orleans.Im.Bench.Load;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Bench;

[Trait("Category", "Unit")]
public sealed class StoredAckTests
{
    [Theory]
    [InlineData(SendStatus.Sent, true)]
    [InlineData(SendStatus.Duplicate, true)]
    [InlineData(SendStatus.Refused, false)]
    public void A_duplicate_ack_is_a_stored_message_not_a_refused_one(SendStatus status, bool stored)
    {
        Assert.Equal(stored, StoredAck.IsStored(status));
    }
}
