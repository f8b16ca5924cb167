using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class IdempotencyTests(ClusterFixture fixture)
{
    [Fact]
    public async Task Retries_of_acked_client_msg_ids_return_the_original_seq_and_time_and_store_nothing_new()
    {
        var client = fixture.Client;
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);

        // More messages than the in-memory window, so that some retries after reactivation reach the database's key.
        var originals = new List<(string ClientMsgId, SendResult Ack)>();
        for (var i = 0; i < 300; i++)
        {
            var clientMsgId = Ids.ClientMsgId();
            originals.Add((clientMsgId, await client.SendTextAsync(conversationId, alice, $"m{i}", clientMsgId)));
        }

        Assert.All(originals, o => Assert.Equal(SendStatus.Sent, o.Ack.Status));

        // 100 retries while the conversation is active (answered from memory) ...
        foreach (var (clientMsgId, ack) in originals.Skip(200))
        {
            var retry = await client.SendTextAsync(conversationId, alice, "retry", clientMsgId);
            Assert.Equal(new SendResult(SendStatus.Duplicate, ack.Seq, ack.ServerTime), retry);
        }

        // ... then 100 after forcing deactivation, of the oldest messages, which no activation holds in memory.
        await fixture.Cluster.DeactivateAsync(client.Conversation(conversationId));
        foreach (var (clientMsgId, ack) in originals.Take(100))
        {
            var retry = await client.SendTextAsync(conversationId, alice, "retry", clientMsgId);
            Assert.Equal(new SendResult(SendStatus.Duplicate, ack.Seq, ack.ServerTime), retry);
        }

        var log = await client.PullAllAsync(conversationId, bob);
        Assert.Equal(300, log.Count);
        Assert.Equal(Enumerable.Range(1, 300).Select(i => (long)i), log.Select(m => m.Seq));
        Assert.DoesNotContain(log, m => m.Content?.Text == "retry");

        // A new message continues the sequence without a gap.
        var next = await client.SendTextAsync(conversationId, bob, "after retries");
        Assert.Equal(301, next.Seq);
    }

    [Fact]
    public async Task The_same_client_msg_id_from_another_sender_is_another_message()
    {
        var client = fixture.Client;
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var clientMsgId = Ids.ClientMsgId();

        var fromAlice = await client.SendTextAsync(conversationId, alice, "hi", clientMsgId);
        var fromBob = await client.SendTextAsync(conversationId, bob, "hi", clientMsgId);

        Assert.Equal(SendStatus.Sent, fromBob.Status);
        Assert.NotEqual(fromAlice.Seq, fromBob.Seq);
    }
}
