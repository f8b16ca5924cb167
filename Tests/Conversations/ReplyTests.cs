using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

/// <summary>A message that answers an earlier one (a quote): what may be answered, and what keeps the link.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class ReplyTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_reply_names_the_message_it_answers_for_everyone_who_pulls_it_also_after_the_grain_is_reloaded()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var question = await Client.SendTextAsync(conversationId, alice, "lunch at noon?");

        var answer = await ReplyAsync(conversationId, bob, question.Seq, "yes");

        Assert.Equal(SendStatus.Sent, answer.Status);
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        var pulled = await Client.PullAllAsync(conversationId, alice);
        Assert.Equal([null, question.Seq], pulled.Select(m => m.Content!.ReplyToSeq));
    }

    [Theory]
    [InlineData(0)]
    [InlineData(-1)]
    [InlineData(2)] // the seq this very message would take
    [InlineData(50)]
    public async Task A_reply_to_a_message_not_in_the_conversation_is_refused_as_invalid(long replyTo)
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        await Client.SendTextAsync(conversationId, alice, "hello");

        var refused = await ReplyAsync(conversationId, bob, replyTo, "to what?");

        Assert.Equal(SendStatus.Invalid, refused.Status);
        Assert.Single(await Client.PullAllAsync(conversationId, bob));
    }

    [Fact]
    public async Task A_reply_to_a_message_stored_by_another_activation_is_taken_after_reading_the_head_again()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var first = await Client.SendTextAsync(conversationId, alice, "one");

        // Stored behind this activation's back, as by the one beside it for a moment during a failover: its sender has the
        // seq, and answers it.
        var log = fixture.SiloServices.GetRequiredService<IMessageLog>();
        var elsewhere = new ChatMessage(conversationId, first.Seq + 1, alice, null, Ids.ClientMsgId(), MessageClass.Persistent, MessageContent.FromText("two"), DateTimeOffset.UtcNow);
        Assert.Equal(AppendStatus.Appended, Assert.Single(await log.AppendRunAsync([elsewhere])).Status);

        var answer = await ReplyAsync(conversationId, bob, elsewhere.Seq, "re: two");

        Assert.Equal((SendStatus.Sent, elsewhere.Seq + 1), (answer.Status, answer.Seq));
        Assert.Equal(["one", "two", "re: two"], (await Client.PullAllAsync(conversationId, bob)).Select(m => m.Content!.Text));
    }

    [Fact]
    public async Task An_edit_keeps_what_a_message_answers_whether_or_not_it_names_it_again()
    {
        var (alice, bob, conversationId) = Chat.NewPair();
        var first = await Client.SendTextAsync(conversationId, alice, "first");
        var second = await Client.SendTextAsync(conversationId, alice, "second");
        var reply = await ReplyAsync(conversationId, bob, first.Seq, "re: first");
        var plain = await Client.SendTextAsync(conversationId, bob, "no reply");
        var conversation = Client.Conversation(conversationId);

        Assert.Equal(AccessStatus.Ok, await conversation.EditAsync(bob, reply.Seq, MessageContent.FromText("re: first, edited")));
        Assert.Equal(AccessStatus.Ok, await conversation.EditAsync(bob, plain.Seq, MessageContent.FromText("now a reply?") with { ReplyToSeq = second.Seq }));
        Assert.Equal(AccessStatus.Ok, await conversation.EditAsync(bob, reply.Seq, MessageContent.FromText("re: first, again") with { ReplyToSeq = 0 }));

        var pulled = (await Client.PullAllAsync(conversationId, alice)).ToDictionary(m => m.Seq);
        Assert.Equal(("re: first, again", (long?)first.Seq), (pulled[reply.Seq].Content!.Text, pulled[reply.Seq].Content!.ReplyToSeq));
        Assert.Equal(("now a reply?", (long?)null), (pulled[plain.Seq].Content!.Text, pulled[plain.Seq].Content!.ReplyToSeq));
    }

    private Task<SendResult> ReplyAsync(string conversationId, string senderId, long replyTo, string text) =>
        Client.Conversation(conversationId).SendAsync(new SendRequest(senderId, null, Ids.ClientMsgId(), MessageContent.FromText(text) with { ReplyToSeq = replyTo }));
}
