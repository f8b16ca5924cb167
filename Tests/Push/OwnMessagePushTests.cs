using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Push;

/// <summary>
/// A sender's own message is pushed to the sender's other devices only: the device that sent it has it from the ack.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class OwnMessagePushTests(ClusterFixture fixture)
{
    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_message_goes_back_to_the_senders_other_device_but_not_to_the_device_that_sent_it()
    {
        using var edge = new RecordingPushObserver();
        var reference = Client.CreateObjectReference<IEdgePushObserver>(edge);
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        var connections = new List<(string User, string Device, string Connection)>();
        async Task ConnectAsync(string user, string device)
        {
            var connection = Guid.NewGuid().ToString("N");
            await Client.GetGrain<IUserGrain>(user).ConnectDeviceAsync(
                new DeviceSession(device, "ios", "test-edge", DateTimeOffset.UtcNow, connection, EdgeTakesPushMany: true), reference);
            connections.Add((user, device, connection));
        }

        try
        {
            await ConnectAsync(alice, "phone");
            await ConnectAsync(bob, "phone");

            var fromPhoneAlone = await Client.SendTextAsync(conversationId, alice, "only device", deviceId: "phone");
            // Alice's user grain pushes in the order it is told, through one queue per edge: once her copy of Bob's
            // reply has arrived, a push of her own earlier message would have arrived before it.
            var reply = await Client.SendTextAsync(conversationId, bob, "reply", deviceId: "phone");
            await Eventually.UntilAsync(() => Task.FromResult(SeqsPushedTo(edge, alice, conversationId)), seqs => seqs.Contains(reply.Seq));
            Assert.DoesNotContain(fromPhoneAlone.Seq, SeqsPushedTo(edge, alice, conversationId));
            // Bob's copy comes through his own user grain, in no order with Alice's pushes: waited for on its own.
            var toBob = await Eventually.ReturnsAsync(() => Task.FromResult(SeqsPushedTo(edge, bob, conversationId)), seqs => seqs.Contains(fromPhoneAlone.Seq));
            Assert.Contains(fromPhoneAlone.Seq, toBob);

            await ConnectAsync(alice, "tablet");
            var withTablet = await Client.SendTextAsync(conversationId, alice, "two devices", deviceId: "phone");
            await Eventually.UntilAsync(() => Task.FromResult(SeqsPushedTo(edge, alice, conversationId)), seqs => seqs.Contains(withTablet.Seq));
        }
        finally
        {
            foreach (var (user, device, connection) in connections)
            {
                await Client.GetGrain<IUserGrain>(user).DisconnectDeviceAsync(device, connection);
            }

            Client.DeleteObjectReference<IEdgePushObserver>(reference);
        }
    }

    private static List<long> SeqsPushedTo(RecordingPushObserver edge, string userId, string conversationId) =>
    [
        .. edge.Batches
            .Where(b => b.UserId == userId)
            .SelectMany(b => b.Events.OfType<MessageEvent>())
            .Where(e => e.ConversationId == conversationId)
            .Select(e => e.Seq),
    ];
}
