using Orleans.Im.Accounts;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class AccessAndClassTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_non_member_gets_the_same_answer_as_for_a_conversation_that_does_not_exist()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var mallory = Ids.User("mallory");
        var p2p = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(p2p, alice, "private");
        var group = await Client.CreateGroupAsync(alice, bob);
        var missingGroup = GrainKeys.NewGroup();

        var intoP2P = await Client.SendTextAsync(p2p, mallory, "hi");
        var intoGroup = await Client.SendTextAsync(group, mallory, "hi");
        var intoMissing = await Client.SendTextAsync(missingGroup, mallory, "hi");
        var intoGarbage = await Client.SendTextAsync("not-a-conversation", mallory, "hi");

        Assert.All([intoP2P, intoGroup, intoMissing, intoGarbage], r => Assert.Equal(intoMissing, r));
        Assert.Equal(SendStatus.NoAccess, intoMissing.Status);

        var pulls = await Task.WhenAll(new[] { p2p, group, missingGroup }.Select(c => Client.Conversation(c).PullAsync(mallory, new PullRequest())));
        Assert.All(pulls, p => Assert.Equal((AccessStatus.NoAccess, 0, 0L), (p.Status, p.Messages.Count, p.LastSeq)));
        Assert.Equal(AccessStatus.NoAccess, await Client.Conversation(p2p).RecallAsync(mallory, 1));
        Assert.Equal(AccessStatus.NoAccess, await Client.Conversation(group).DeleteForSelfAsync(mallory, 1));
        Assert.Equal(AccessStatus.NoAccess, (await Client.Conversation(group).GetMembersAsync(mallory)).Status);
    }

    [Fact]
    public async Task A_block_whose_write_failed_is_written_by_the_retry_and_outlives_the_activation()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var p2p = GrainKeys.P2P(alice, bob);
        Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(p2p, bob, "hi")).Status);
        // The conversation's write of the block fails (the API answers 503); the client retries once storage is back.
        var conversation = GrainId.Create("conversation", p2p);
        fixture.StorageFaults.Fail(conversation);
        await Assert.ThrowsAsync<OrleansException>(() => Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));
        Assert.Equal(1, fixture.StorageFaults.Heal(conversation));
        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));

        // The retry wrote it: a new activation (storage's view) still refuses bob.
        await fixture.Cluster.DeactivateAsync(Client.Conversation(p2p));
        Assert.Equal(SendStatus.Blocked, (await Client.SendTextAsync(p2p, bob, "still there?")).Status);
    }

    [Fact]
    public async Task A_retry_of_a_stored_message_is_answered_as_stored_though_the_peer_blocked_the_sender_since()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var p2p = GrainKeys.P2P(alice, bob);
        var request = new SendRequest(bob, "phone", Ids.ClientMsgId(), MessageContent.FromText("see you at 8"));
        var first = await Client.Conversation(p2p).SendAsync(request);
        Assert.Equal(SendStatus.Sent, first.Status);

        // Its ack was lost; alice blocks bob before bob's phone retries. The message is stored and alice has it: the retry
        // hears so, rather than "blocked" for a message the phone would then show as failed.
        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));
        var retry = await Client.Conversation(p2p).SendAsync(request);
        Assert.Equal((SendStatus.Duplicate, first.Seq), (retry.Status, retry.Seq));
        Assert.Equal(SendStatus.Blocked, (await Client.SendTextAsync(p2p, bob, "hello?")).Status);
    }

    [Fact]
    public async Task Instant_messages_are_pushed_and_never_stored()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, alice, "stored");
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);

        var typing = await Client.Conversation(conversationId).SendAsync(new SendRequest(alice, "phone", Ids.ClientMsgId(),
            new MessageContent(ContentType.Custom, CustomType: "typing"), MessageClass.Instant));

        Assert.Equal((SendStatus.Sent, 0L), (typing.Status, typing.Seq));
        var pushed = await bobPhone.WaitForAsync<MessageEvent>(e => e.Message.Class == MessageClass.Instant);
        Assert.Equal(("typing", 0L), (pushed.Message.Content!.CustomType, pushed.Seq));
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        var log = await Client.PullAllAsync(conversationId, bob);
        Assert.Equal(["stored"], log.Select(m => m.Content!.Text));
        Assert.Equal(1, (await Client.SendTextAsync(conversationId, bob, "next")).Seq - 1);
    }

    [Fact]
    public async Task A_user_who_was_offline_pulls_only_the_latest_notification_per_collapse_key()
    {
        var system = Ids.User("system");
        var user = Ids.User("user");
        var conversationId = GrainKeys.P2P(system, user);

        // The last one is the user's own, with the system's key: a key collapses only its own sender's notices, or any
        // member could blank out another's.
        foreach (var (sender, key, text) in new[]
        {
            (system, "order-1", "paid"), (system, "order-1", "shipped"), (system, "order-2", "paid"), (system, "order-1", "delivered"),
            (user, "order-1", "mine"),
        })
        {
            var result = await Client.Conversation(conversationId).SendAsync(new SendRequest(sender, null, Ids.ClientMsgId(),
                MessageContent.FromText(text), MessageClass.Notification, key));
            Assert.Equal(SendStatus.Sent, result.Status);
        }

        await AssertCollapsed(await Client.PullAllAsync(conversationId, user));
        await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
        await AssertCollapsed(await Client.PullAllAsync(conversationId, user));

        static Task AssertCollapsed(IReadOnlyList<ChatMessage> log)
        {
            // Seqs stay dense (no invented gaps); superseded notices carry no content.
            Assert.Equal([1L, 2L, 3L, 4L, 5L], log.Select(m => m.Seq));
            Assert.Equal(
                [MessageState.Collapsed, MessageState.Collapsed, MessageState.Normal, MessageState.Normal, MessageState.Normal],
                log.Select(m => m.State));
            Assert.Equal([null, null, "paid", "delivered", "mine"], log.Select(m => m.Content?.Text));
            return Task.CompletedTask;
        }
    }

    [Fact]
    public async Task Bad_sends_get_a_clear_status_and_store_nothing()
    {
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversation = Client.Conversation(GrainKeys.P2P(alice, bob));

        async Task<SendStatus> Send(MessageContent content, string? clientMsgId = null, MessageClass messageClass = MessageClass.Persistent, string? collapseKey = null) =>
            (await conversation.SendAsync(new SendRequest(alice, null, clientMsgId ?? Ids.ClientMsgId(), content, messageClass, collapseKey))).Status;

        Assert.Equal(SendStatus.TooLarge, await Send(MessageContent.FromText(new string('x', MessageLimits.MaxContentBytes + 1))));
        Assert.Equal(SendStatus.TooLarge, await Send(new MessageContent(ContentType.Image, Media: new MediaInfo(
            "https://cdn.example.invalid/a.jpg", "image/jpeg", 1000, 10, 10, Thumbnail: new byte[MessageLimits.MaxThumbnailBytes + 1]))));
        Assert.Equal(SendStatus.Invalid, await Send(MessageContent.FromText("")));
        Assert.Equal(SendStatus.Invalid, await Send(MessageContent.FromText("hi"), clientMsgId: ""));
        Assert.Equal(SendStatus.Invalid, await Send(new MessageContent(ContentType.Image)));
        Assert.Equal(SendStatus.Invalid, await Send(new MessageContent(ContentType.File, Media: new MediaInfo("file:///etc/passwd", "text/plain", 1))));
        Assert.Equal(SendStatus.Invalid, await Send(new MessageContent(ContentType.Location, Location: new GeoLocation(91, 0))));
        Assert.Equal(SendStatus.Invalid, await Send(MessageContent.FromText("hi"), collapseKey: "key"));
        // A class this server does not know (a number off the wire): not stored, not delivered.
        Assert.Equal(SendStatus.Invalid, await Send(MessageContent.FromText("hi"), messageClass: (MessageClass)100_000));
        Assert.Equal(SendStatus.Sent, await Send(new MessageContent(ContentType.Image, "caption", new MediaInfo(
            "https://cdn.example.invalid/a.jpg", "image/jpeg", 123_456, 800, 600, Thumbnail: new byte[1024]))));

        var log = await conversation.PullAsync(alice, new PullRequest());
        Assert.Equal(ContentType.Image, Assert.Single(log.Messages).Content!.Type);
    }
}
