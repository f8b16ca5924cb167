using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Robots;

/// <summary>A robot process outliving its cluster: the only silo is killed and started again while the robot runs.</summary>
[Trait("Category", "Integration")]
public sealed class RobotReconnectTests
{
    /// <summary>How long the robot may take to notice the new silo and start over (its retry delay grows to 15 s).</summary>
    private static readonly TimeSpan ReconnectPatience = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task When_the_cluster_comes_back_the_robot_reconnects_and_answers_again()
    {
        await using var cluster = new SiloCluster("robots");
        var silo = await cluster.StartSiloAsync();
        var client = await cluster.ConnectClientAsync();
        var robot = Ids.User("echo-bot");
        Assert.Equal(AccessStatus.Ok, await client.GetGrain<IAccountGrain>(robot).CreateAsync(new NewAccount("Echo", null, [AccountRole.Robot])));
        var user = Ids.User("user");
        var conversation = GrainKeys.P2P(user, robot);

        var (process, _) = await RobotProcess.StartAsync(cluster, client, robot, ["echo-bot"]);
        await using (process)
        {
            Assert.Equal(SendStatus.Sent, (await client.SendTextAsync(conversation, user, "before")).Status);
            Assert.Equal(["before"], await RepliesWhenAsync(client, conversation, user, robot, 1, TimeSpan.FromSeconds(30)));

            // The whole cluster goes away (no silo at all) and comes back on the same ports.
            await silo.Process.KillAsync();
            await cluster.StartSiloAsync(silo.Endpoints);
            var after = await cluster.ConnectClientAsync();

            Assert.Equal(SendStatus.Sent, (await after.SendTextAsync(conversation, user, "after")).Status);
            Assert.Equal(["before", "after"], await RepliesWhenAsync(after, conversation, user, robot, 2, ReconnectPatience));
            Assert.False(process.HasExited, process.Output);
        }
    }

    private static async Task<IReadOnlyList<string?>> RepliesWhenAsync(IClusterClient client, string conversation, string user, string robot, int count, TimeSpan patience) =>
        await Eventually.UntilAsync(async () =>
            {
                try
                {
                    var pulled = await client.GetGrain<IConversationGrain>(conversation).PullAsync(user, new PullRequest());
                    return pulled.Messages.Where(m => m.SenderId == robot).Select(m => m.Content?.Text).ToList();
                }
                catch (Exception ex) when (ex is TimeoutException or OrleansException)
                {
                    // The silo is still starting.
                    return [];
                }
            },
            replies => replies.Count >= count,
            patience);
}
