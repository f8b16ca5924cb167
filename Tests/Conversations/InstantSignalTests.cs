using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class InstantSignalTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Typing_is_forwarded_at_most_once_per_throttle_interval_per_sender()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.SendTextAsync(conversationId, alice, "hello");
        await using var device = await DeviceProbe.ConnectAsync(Client, bob);

        for (var i = 0; i < 5; i++)
        {
            Assert.Equal(SendStatus.Sent, (await TypingAsync(conversationId, alice)).Status);
        }

        await device.WaitForAsync<MessageEvent>(e => TypingIndicator.Is(e.Message.Content));
        fixture.Time.Advance(TypingIndicator.ThrottleInterval);
        Assert.Equal(SendStatus.Sent, (await TypingAsync(conversationId, alice)).Status);
        await Eventually.UntilAsync(() => Task.FromResult(Typings(device)), n => n >= 2);
        await Client.SendTextAsync(conversationId, alice, "a later message, pushed after any stray typing");
        await device.WaitForAsync<MessageEvent>(e => e.Seq == 2);
        Assert.Equal(2, Typings(device));

        // Typing is instant only: never logged.
        Assert.Equal(SendStatus.Invalid, (await Client.Conversation(conversationId).SendAsync(
            new SendRequest(alice, null, Ids.ClientMsgId(), TypingIndicator.Content, MessageClass.Persistent))).Status);
    }

    [Fact]
    public async Task A_call_signal_reaches_every_online_device_of_the_callee_and_an_offline_callee_is_an_error()
    {
        var (caller, callee, stranger) = (Ids.User("caller"), Ids.User("callee"), Ids.User("stranger"));
        var conversationId = GrainKeys.P2P(caller, callee);
        const string Offer = """{"callId":"c1","kind":"offer","sdp":"v=0"}""";
        // Peers in a small group, and the callee shares presence: the caller may see it, and so hear "offline".
        await Client.CreateGroupAsync(callee, caller);
        await Client.GetGrain<Im.Users.IUserGrain>(callee).SetSharePresenceAsync(true);

        var unanswered = await CallAsync(conversationId, caller, Offer);
        Assert.Equal((SendStatus.Offline, 0L), (unanswered.Status, unanswered.Seq));
        // A stranger may not: the call rings out unanswered rather than tell what presence hides.
        Assert.Equal(SendStatus.Sent, (await CallAsync(GrainKeys.P2P(stranger, callee), stranger, Offer)).Status);

        await using var phone = await DeviceProbe.ConnectAsync(Client, callee, "phone");
        await using var laptop = await DeviceProbe.ConnectAsync(Client, callee, "laptop");
        Assert.Equal(SendStatus.Sent, (await CallAsync(conversationId, caller, Offer)).Status);
        foreach (var device in new[] { phone, laptop })
        {
            var signal = await device.WaitForAsync<MessageEvent>(e => CallSignal.Is(e.Message.Content));
            Assert.Equal((caller, 0L, Offer), (signal.Message.SenderId, signal.Message.Seq, signal.Message.Content!.CustomData));
        }

        Assert.Equal(SendStatus.TooLarge, (await CallAsync(conversationId, caller, new string('x', CallSignal.MaxPayloadBytes + 1))).Status);
        Assert.Empty(await Client.PullAllAsync(conversationId, caller));
    }

    private static int Typings(DeviceProbe device) => device.Events.OfType<MessageEvent>().Count(e => TypingIndicator.Is(e.Message.Content));

    private Task<SendResult> TypingAsync(string conversationId, string sender) =>
        Client.Conversation(conversationId).SendAsync(new SendRequest(sender, null, Ids.ClientMsgId(), TypingIndicator.Content, MessageClass.Instant));

    private Task<SendResult> CallAsync(string conversationId, string caller, string payload) =>
        Client.Conversation(conversationId).SendAsync(new SendRequest(caller, "phone", Ids.ClientMsgId(), CallSignal.Content(payload), MessageClass.Instant));
}
