using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class SendOrderingTests(ClusterFixture fixture)
{
    private const int Senders = 10;
    private const int MessagesPerSender = 100;

    [Fact]
    public async Task Thousand_sends_from_ten_concurrent_senders_get_the_next_1000_seqs_in_each_senders_order()
    {
        var client = fixture.Client;
        var senders = Enumerable.Range(0, Senders).Select(i => Ids.User($"sender{i}")).ToArray();
        var conversationId = await client.CreateGroupAsync(senders[0], senders[1..]);

        // Each sender awaits each ack before its next send, all senders at once.
        var acks = await Task.WhenAll(senders.Select(async sender =>
        {
            var seqs = new List<long>(MessagesPerSender);
            for (var i = 0; i < MessagesPerSender; i++)
            {
                var result = await client.SendTextAsync(conversationId, sender, $"{sender} #{i}");
                Assert.Equal(SendStatus.Sent, result.Status);
                seqs.Add(result.Seq);
            }

            return (Sender: sender, Seqs: seqs);
        }));

        var allSeqs = acks.SelectMany(a => a.Seqs).Order().ToList();
        Assert.Equal(Enumerable.Range((int)Chat.FirstGroupMessageSeq, Senders * MessagesPerSender).Select(i => (long)i), allSeqs);
        foreach (var (_, seqs) in acks)
        {
            Assert.Equal(seqs.Order(), seqs);
        }

        // The log agrees: every seq once, in order, each sender's texts in the order sent, and times never go back.
        var log = (await client.PullAllAsync(conversationId, senders[0])).Written().ToList();
        Assert.Equal(allSeqs, log.Select(m => m.Seq));
        foreach (var sender in senders)
        {
            var texts = log.Where(m => m.SenderId == sender).Select(m => m.Content!.Text).ToList();
            Assert.Equal(Enumerable.Range(0, MessagesPerSender).Select(i => $"{sender} #{i}"), texts);
        }

        Assert.Equal(log.Select(m => m.ServerTime).Order(), log.Select(m => m.ServerTime));
    }
}
