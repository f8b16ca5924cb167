using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Conversations;

/// <summary>
/// Several messages in one call (what edges send when a conversation is busy): one run of the log, seqs in call order,
/// each request answered on its own, and a run that meets a stale head or a stored retry sent again with no hole.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class SendManyTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_call_stores_its_messages_under_consecutive_seqs_in_call_order_and_answers_each_on_its_own()
    {
        var client = fixture.Client;
        var (alice, bob, carol) = (Ids.User("alice"), Ids.User("bob"), Ids.User("carol"));
        var conversationId = await client.CreateGroupAsync(alice, bob);
        var first = await client.SendTextAsync(conversationId, bob, "before");

        var results = await client.Conversation(conversationId).SendManyAsync(
        [
            Text(alice, "a-1", "one"),
            Text(bob, "b-1", "two"),
            Text(alice, "a-1", "one"), // the same message again in the same call
            Text(carol, "c-1", "not a member"),
            Text(alice, "", "no client id"),
            Text(alice, "a-2", "three"),
        ]);

        Assert.Equal(
            [(SendStatus.Sent, first.Seq + 1), (SendStatus.Sent, first.Seq + 2), (SendStatus.Duplicate, first.Seq + 1),
             (SendStatus.NoAccess, 0), (SendStatus.Invalid, 0), (SendStatus.Sent, first.Seq + 3)],
            results.Select(r => (r.Status, r.Seq)));
        var log = (await client.PullAllAsync(conversationId, alice)).Written().ToList();
        Assert.Equal(["before", "one", "two", "three"], log.Select(m => m.Content!.Text));
        Assert.Equal(Enumerable.Range((int)first.Seq, 4).Select(i => (long)i), log.Select(m => m.Seq));

        // A retry of the whole call later: every stored message is a duplicate with its seq, and nothing is stored.
        var retried = await client.Conversation(conversationId).SendManyAsync([Text(alice, "a-1", "one"), Text(alice, "a-2", "three")]);
        Assert.Equal([(SendStatus.Duplicate, first.Seq + 1), (SendStatus.Duplicate, first.Seq + 3)], retried.Select(r => (r.Status, r.Seq)));
        Assert.Equal(4, (await client.PullAllAsync(conversationId, alice)).Written().Count());
    }

    [Fact]
    public async Task A_message_with_a_nul_is_refused_as_invalid_and_the_rest_of_the_call_is_sent()
    {
        var client = fixture.Client;
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = await client.CreateGroupAsync(alice, bob);

        // PostgreSQL refuses a NUL in text and jsonb: stored, it failed the whole group-commit batch, forever.
        var results = await client.Conversation(conversationId).SendManyAsync(
        [
            Text(alice, "a-1", "one"),
            Text(alice, "a-2", "nul \0 in the text"),
            Text(alice, "a-\0", "nul in the client id"),
            Text(alice, "a-3", "three"),
        ]);

        Assert.Equal([SendStatus.Sent, SendStatus.Invalid, SendStatus.Invalid, SendStatus.Sent], results.Select(r => r.Status));
        Assert.Equal(["one", "three"], (await client.PullAllAsync(conversationId, alice)).Written().Select(m => m.Content!.Text));
    }

    [Fact]
    public async Task A_run_that_meets_a_taken_seq_and_a_stored_retry_is_sent_again_with_no_hole_in_the_seqs()
    {
        var client = fixture.Client;
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = await client.CreateGroupAsync(alice, bob);
        var head = await client.SendTextAsync(conversationId, alice, "head");

        // Another writer (as a previous activation whose ack was lost) stored alice's "x" under the next seq, behind the
        // grain's back: the grain's head is stale, and "x" is not in its dedup cache.
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        var behind = new ChatMessage(conversationId, head.Seq + 1, alice, "phone", "x", MessageClass.Persistent, MessageContent.FromText("x"), DateTimeOffset.UtcNow);
        Assert.Equal(AppendStatus.Appended, Assert.Single(await log.AppendRunAsync([behind])).Status);

        var results = await client.Conversation(conversationId).SendManyAsync(
            [Text(bob, "y", "y"), Text(alice, "x", "x"), Text(bob, "z", "z")]);

        Assert.Equal([(SendStatus.Sent, head.Seq + 2), (SendStatus.Duplicate, head.Seq + 1), (SendStatus.Sent, head.Seq + 3)],
            results.Select(r => (r.Status, r.Seq)));
        var stored = (await client.PullAllAsync(conversationId, alice)).Written().ToList();
        Assert.Equal(["head", "x", "y", "z"], stored.Select(m => m.Content!.Text));
        Assert.Equal(Enumerable.Range((int)head.Seq, 4).Select(i => (long)i), stored.Select(m => m.Seq));
    }

    [Fact]
    public async Task A_message_stored_but_never_answered_is_announced_when_its_retry_finds_it()
    {
        var client = fixture.Client;
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        var head = await client.SendTextAsync(conversationId, alice, "head");

        // Alice's "lost" was committed but the answer never reached the grain (the database's reply lost): the log holds it
        // beyond the grain's head, and nobody was told of it.
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        var lost = new ChatMessage(conversationId, head.Seq + 1, alice, "phone", "lost", MessageClass.Persistent, MessageContent.FromText("lost"), DateTimeOffset.UtcNow);
        Assert.Equal(AppendStatus.Appended, Assert.Single(await log.AppendRunAsync([lost])).Status);

        // Her client retries with the same client message id: the original seq, and now bob hears of it and can pull it.
        var retried = await client.Conversation(conversationId).SendAsync(Text(alice, "lost", "lost"));
        Assert.Equal((SendStatus.Duplicate, head.Seq + 1), (retried.Status, retried.Seq));
        var entry = await Eventually.ReturnsAsync(
            () => client.GetGrain<IUserGrain>(bob).GetConversationAsync(conversationId), e => e?.LastSeq == head.Seq + 1);
        Assert.Equal(head.Seq + 1, entry?.LastSeq);
        Assert.Equal(2, entry?.UnreadCount);
        Assert.Equal(["head", "lost"], (await client.PullAllAsync(conversationId, bob)).Select(m => m.Content!.Text));
    }

    [Fact]
    public async Task A_message_stored_just_before_its_silo_crashed_is_announced_by_the_next_activation()
    {
        var client = fixture.Client;
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        var head = await client.SendTextAsync(conversationId, alice, "head");

        // Stored, then the silo went down before the fan-out (played: written behind the grain's back, and the grain
        // deactivated without a word to anyone).
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        var stranded = new ChatMessage(conversationId, head.Seq + 1, alice, "phone", "stranded", MessageClass.Persistent,
            MessageContent.FromText("stranded"), fixture.Time.GetUtcNow());
        Assert.Equal(AppendStatus.Appended, Assert.Single(await log.AppendRunAsync([stranded])).Status);
        await fixture.Cluster.DeactivateAsync(client.Conversation(conversationId));

        // Alice's client retries the send it never had an answer for: the new activation knows it (a duplicate), and
        // has told bob.
        var retried = await client.Conversation(conversationId).SendAsync(Text(alice, "stranded", "stranded"));
        Assert.Equal((SendStatus.Duplicate, head.Seq + 1), (retried.Status, retried.Seq));
        var entry = await Eventually.ReturnsAsync(
            () => client.GetGrain<IUserGrain>(bob).GetConversationAsync(conversationId), e => e?.LastSeq == head.Seq + 1);
        Assert.Equal(head.Seq + 1, entry?.LastSeq);
    }

    private static SendRequest Text(string senderId, string clientMsgId, string text) =>
        new(senderId, "phone", clientMsgId, MessageContent.FromText(text), MessageClass.Persistent);
}
