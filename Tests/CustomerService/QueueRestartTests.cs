using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>The queue's state and its timeout reminder outlive the silo: a second cluster under the same service id.</summary>
[Collection(CustomerServiceClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class QueueRestartTests(CustomerServiceClusterFixture fixture)
{
    [Fact]
    public async Task The_queue_sessions_settings_and_timeouts_survive_a_silo_restart()
    {
        var serviceId = TestServices.NewClusterId("cs-restart");
        // The idle timeout runs through the restart: long enough that a slow stop and start (seconds) is unlikely to let
        // it close the quiet user's session before the new silo's state is checked.
        var settings = new CustomerServiceSettings(MaxSessionsPerAgent: 1, AutoReplyText: "back soon", UserIdleTimeout: TimeSpan.FromSeconds(10));
        string shopId, agent;
        string[] users = [Ids.User("served"), Ids.User("waiting1"), Ids.User("waiting2")];
        var before = await StartAsync(serviceId);
        try
        {
            // Not disposed: the agent's console stays connected until the silos stop, as when a silo goes down. Disposing
            // it first would start the agent's presence grace (300 ms here), racing the stop to put the session back.
            var shop = await Shop.CreateAsync(before.Client, 1, settings);
            (shopId, agent) = (shop.Id, shop.Agents[0]);
            await shop.OnlineAsync(agent);
            foreach (var user in users)
            {
                await shop.UserSaysAsync(user, "hello");
                await shop.SnapshotWhenAsync(s => s.Sessions.Any(x => x.UserId == user));
            }

            await shop.SnapshotWhenAsync(s => s.Waiting.Count == 2);
            // The agent answers; the user then says nothing: the idle timeout is due after the restart.
            Assert.Equal(SendStatus.Sent, (await shop.AgentSaysAsync(agent, users[0], "how can I help?")).Status);
            await shop.SnapshotWhenAsync(s => s.Sessions.Single(x => x.UserId == users[0]).AwaitingAnswerSince is null);
        }
        finally
        {
            await before.StopAllSilosAsync();
            await before.DisposeAsync();
        }

        var after = await StartAsync(serviceId);
        try
        {
            // The agent's console reconnects to the new silo.
            await using var console = await DeviceProbe.ConnectAsync(after.Client, agent, "console");
            var queue = after.Client.GetGrain<ICustomerServiceQueueGrain>(shopId);
            Assert.Equal(settings, await queue.GetSettingsAsync());
            var snapshot = await queue.GetSnapshotAsync();
            Assert.Equal([users[1], users[2]], snapshot.Waiting);
            Assert.Equal(agent, snapshot.Sessions.Single(s => s.UserId == users[0]).AgentId);

            // The durable reminder fires on the new silo: the quiet user's session closes and the head of the queue moves up.
            var moved = await Eventually.ReturnsAsync(() => queue.GetSnapshotAsync(), s => s.Waiting.Count == 1, TimeSpan.FromSeconds(30));
            Assert.Equal([users[2]], moved.Waiting);
            Assert.Equal(agent, moved.Sessions.Single(s => s.UserId == users[1]).AgentId);
            Assert.DoesNotContain(moved.Sessions, s => s.UserId == users[0]);
        }
        finally
        {
            await after.DisposeAsync();
        }
    }

    private Task<Orleans.TestingHost.InProcessTestCluster> StartAsync(string serviceId) =>
        CustomerServiceClusterFixture.StartAsync(fixture.DataSource, serviceId);
}
