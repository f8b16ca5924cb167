using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Push;

/// <summary>
/// The observer push path through a real silo: user grains queue their batches in the silo's outbox, whose flush calls
/// the edges' observers from a thread-pool thread (outside any grain). Two recording observers of the test client play
/// a current edge and one from before <c>PushManyAsync</c>.
/// </summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class ObserverPushTests(ClusterFixture fixture)
{
    private const int MembersPerEdge = 15;

    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task A_group_message_reaches_every_online_member_and_an_old_edge_gets_one_push_per_batch()
    {
        using var currentEdge = new RecordingPushObserver();
        using var oldEdge = new RecordingPushObserver();
        var currentReference = Client.CreateObjectReference<IEdgePushObserver>(currentEdge);
        var oldReference = Client.CreateObjectReference<IEdgePushObserver>(oldEdge);
        var current = Enumerable.Range(0, MembersPerEdge).Select(i => Ids.User($"cur{i}")).ToArray();
        var old = Enumerable.Range(0, MembersPerEdge).Select(i => Ids.User($"old{i}")).ToArray();
        var connections = new List<(string User, string Connection)>();
        try
        {
            foreach (var (users, reference, takesPushMany) in new[] { (current, currentReference, true), (old, oldReference, false) })
            {
                foreach (var user in users)
                {
                    var connection = Guid.NewGuid().ToString("N");
                    await Client.GetGrain<IUserGrain>(user).ConnectDeviceAsync(
                        new DeviceSession("phone", "ios", "test-edge", DateTimeOffset.UtcNow, connection, EdgeTakesPushMany: takesPushMany), reference);
                    connections.Add((user, connection));
                }
            }

            var owner = Ids.User("owner");
            var conversationId = await Client.CreateGroupAsync(owner, [.. current, .. old]);
            var sent = await Client.SendTextAsync(conversationId, owner, "to everyone");
            Assert.Equal(SendStatus.Sent, sent.Status);

            foreach (var (edge, users) in new[] { (currentEdge, current), (oldEdge, old) })
            {
                var reached = await Eventually.ReturnsAsync(() => Task.FromResult(UsersWithMessage(edge, conversationId, sent.Seq)),
                    r => r.Count == users.Length);
                Assert.Equal(users.Order(StringComparer.Ordinal), reached.Order(StringComparer.Ordinal));
            }

            Assert.All(oldEdge.Calls, c => Assert.False(c.Many));
        }
        finally
        {
            foreach (var (user, connection) in connections)
            {
                await Client.GetGrain<IUserGrain>(user).DisconnectDeviceAsync("phone", connection);
            }

            Client.DeleteObjectReference<IEdgePushObserver>(currentReference);
            Client.DeleteObjectReference<IEdgePushObserver>(oldReference);
        }
    }

    [Fact]
    public async Task An_edge_that_takes_numbered_calls_gets_them_numbered_one_by_one_in_the_order_pushed()
    {
        using var edge = new RecordingPushObserver();
        var reference = Client.CreateObjectReference<IEdgePushObserver>(edge);
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var connection = Guid.NewGuid().ToString("N");
        try
        {
            await Client.GetGrain<IUserGrain>(alice).ConnectDeviceAsync(
                new DeviceSession("phone", "ios", "test-edge", DateTimeOffset.UtcNow, connection, EdgeTakesPushMany: true, EdgeTakesPushInOrder: true), reference);
            var conversationId = GrainKeys.P2P(alice, bob);
            const int Sent = 20;
            for (var i = 1; i <= Sent; i++)
            {
                Assert.Equal(SendStatus.Sent, (await Client.SendTextAsync(conversationId, bob, $"m{i}")).Status);
            }

            // Until every message came, and every call numbered up to the last one that came (none still on its way).
            await Eventually.UntilAsync(() => Task.FromResult(edge.Calls), c =>
                c.SelectMany(call => call.Batches).SelectMany(b => b.Events.OfType<MessageEvent>()).Count(e => e.ConversationId == conversationId) >= Sent
                && c.Select(call => call.Number).Order().SequenceEqual(Enumerable.Range(1, c.Count).Select(n => (long)n)));
            Assert.Equal(Sent, PushedSeqs(edge, conversationId).Count);

            // Every call numbered, by one sender, 1, 2, 3, … in the order made (the recording is in arrival order,
            // which Orleans may change: sorted by number, the seqs the calls carry must come out in order).
            var calls = edge.Calls;
            Assert.All(calls, c => Assert.True(c.Many));
            Assert.Single(calls.Select(c => c.Sender).Distinct());
            Assert.NotEqual(0, calls[0].Sender);
            Assert.Equal(Enumerable.Range(1, calls.Count).Select(n => (long)n), calls.Select(c => c.Number).Order());
            var inCallOrder = calls.OrderBy(c => c.Number).SelectMany(c => c.Batches).SelectMany(b => b.Events.OfType<MessageEvent>())
                .Where(e => e.ConversationId == conversationId).Select(e => e.Seq).ToList();
            Assert.Equal(Enumerable.Range(1, Sent).Select(s => (long)s), inCallOrder);
        }
        finally
        {
            await Client.GetGrain<IUserGrain>(alice).DisconnectDeviceAsync("phone", connection);
            Client.DeleteObjectReference<IEdgePushObserver>(reference);
        }
    }

    [Fact]
    public async Task A_large_group_activated_again_pushes_to_an_online_member_once_the_edge_renews_it_after_a_silo_loss()
    {
        using var edge = new RecordingPushObserver();
        var reference = Client.CreateObjectReference<IEdgePushObserver>(edge);
        var alice = Ids.User("alice");
        var owner = Ids.User("owner");
        var others = Enumerable.Range(0, ClusterFixture.LargeGroupThreshold).Select(i => Ids.User($"m{i}")).ToArray();
        var device = new DeviceSession("phone", "ios", "test-edge", DateTimeOffset.UtcNow, Guid.NewGuid().ToString("N"),
            EdgeTakesPushMany: true, EdgeRenewsLease: true, EdgeTakesPushInOrder: true);
        try
        {
            // Read diffusion: the group pushes only to the online members it was told of, by their routes.
            var conversationId = await Client.CreateGroupAsync(owner, [alice, .. others]);
            await Client.GetGrain<IUserGrain>(alice).ConnectDeviceAsync(device, reference);
            var before = await Client.SendTextAsync(conversationId, owner, "before");
            await Eventually.UntilAsync(() => Task.FromResult(PushedSeqs(edge, conversationId)), s => s.Contains(before.Seq));
            Assert.Contains(before.Seq, PushedSeqs(edge, conversationId));

            // The group's silo is lost: activated again elsewhere, it knows nobody online. Alice's grain did not move.
            await fixture.Cluster.DeactivateAsync(Client.Conversation(conversationId));
            Assert.Equal(DeviceRenewal.Renewed, await Client.GetGrain<IUserGrain>(alice).RenewDeviceAfterSiloLossAsync(device, reference));

            // The routes are told one-way: a send may overtake them, so a few are made, a second apart; one reaches alice.
            var arrived = false;
            for (var attempt = 1; attempt <= 5 && !arrived; attempt++)
            {
                var after = await Client.SendTextAsync(conversationId, owner, $"after {attempt}");
                var pushed = await Eventually.ReturnsAsync(() => Task.FromResult(PushedSeqs(edge, conversationId)), s => s.Contains(after.Seq), TimeSpan.FromSeconds(1));
                arrived = pushed.Contains(after.Seq);
            }

            Assert.True(arrived, "no message sent after the renewal was pushed to the member");
        }
        finally
        {
            await Client.GetGrain<IUserGrain>(alice).DisconnectDeviceAsync("phone", device.ConnectionId);
            Client.DeleteObjectReference<IEdgePushObserver>(reference);
        }
    }

    private static List<long> PushedSeqs(RecordingPushObserver edge, string conversationId) =>
    [
        .. edge.Batches.SelectMany(b => b.Events.OfType<MessageEvent>()).Where(e => e.ConversationId == conversationId).Select(e => e.Seq),
    ];

    private static List<string> UsersWithMessage(RecordingPushObserver edge, string conversationId, long seq) =>
    [
        .. edge.Batches
            .Where(b => b.Events.OfType<MessageEvent>().Any(e => e.ConversationId == conversationId && e.Seq == seq))
            .Select(b => b.UserId)
            .Distinct(StringComparer.Ordinal),
    ];
}
