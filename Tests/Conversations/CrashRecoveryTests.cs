using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Conversations;

/// <summary>A real silo process, killed with SIGKILL right after acks, on the real PostgreSQL and Redis.</summary>
[Trait("Category", "Integration")]
public sealed class CrashRecoveryTests
{
    [Fact]
    public async Task After_a_killed_silo_restarts_every_acked_message_is_there_in_order_and_read_state_agrees_with_the_log()
    {
        await using var cluster = new SiloCluster("crash");
        var silo = await cluster.StartSiloAsync();
        var client = await cluster.ConnectClientAsync();
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var carol = Ids.User("carol");
        var p2p = GrainKeys.P2P(alice, bob);
        var group = await client.CreateGroupAsync(carol, alice, bob);

        // Within the production rate limits (the silo runs with default options).
        var acked = new Dictionary<string, List<(long Seq, string Text)>> { [p2p] = [], [group] = [] };
        async Task Send(string conversationId, string sender, string text)
        {
            var ack = await client.SendTextAsync(conversationId, sender, text);
            Assert.Equal(SendStatus.Sent, ack.Status);
            acked[conversationId].Add((ack.Seq, text));
        }

        for (var i = 0; i < 40; i++)
        {
            await Send(p2p, alice, $"a{i}");
        }

        for (var i = 0; i < 10; i++)
        {
            await Send(p2p, bob, $"b{i}");
        }

        for (var i = 0; i < 40; i++)
        {
            await Send(group, carol, $"c{i}");
        }

        Assert.NotNull((await client.GetGrain<IUserGrain>(alice).MarkReadAsync(group, 15)).Entry);

        // No time for the periodic index flush: the kill comes right after the acks.
        await silo.Process.KillAsync();
        await cluster.StartSiloAsync(silo.Endpoints);
        var after = await cluster.ConnectClientAsync();

        foreach (var (conversationId, messages) in acked)
        {
            var log = (await after.PullAllAsync(conversationId, alice)).Written().ToList();
            Assert.Equal(messages.Select(m => m.Seq), log.Select(m => m.Seq));
            Assert.Equal(messages.Select(m => m.Text), log.Select(m => m.Content!.Text));
        }

        // Unread counts follow the log: each user's own messages count as read, read positions were saved when marked.
        await AssertEntry(alice, p2p, lastSeq: 50, readSeq: 40);
        await AssertEntry(bob, p2p, lastSeq: 50, readSeq: 50);
        // The group's seq 1 is its notice that carol created it.
        await AssertEntry(alice, group, lastSeq: 41, readSeq: 15);
        await AssertEntry(bob, group, lastSeq: 41, readSeq: 0);
        await AssertEntry(carol, group, lastSeq: 41, readSeq: 41);

        // And the conversation goes on without a gap.
        Assert.Equal(51, (await after.SendTextAsync(p2p, bob, "back")).Seq);

        async Task AssertEntry(string userId, string conversationId, long lastSeq, long readSeq)
        {
            var sync = await after.GetGrain<IUserGrain>(userId).SyncAsync(0);
            var entry = Assert.Single(sync.Changed, e => e.ConversationId == conversationId);
            Assert.Equal((lastSeq, readSeq, lastSeq - readSeq), (entry.LastSeq, entry.ReadSeq, entry.UnreadCount));
        }
    }
}
