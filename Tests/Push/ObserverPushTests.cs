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

    private static List<string> UsersWithMessage(RecordingPushObserver edge, string conversationId, long seq) =>
    [
        .. edge.Batches
            .Where(b => b.Events.OfType<MessageEvent>().Any(e => e.ConversationId == conversationId && e.Seq == seq))
            .Select(b => b.UserId)
            .Distinct(StringComparer.Ordinal),
    ];
}
