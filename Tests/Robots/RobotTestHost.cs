using System.Net;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Im.Accounts;
using Orleans.Im.Conversations;
using Orleans.Im.CustomerService;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Robots;

/// <summary>What the robot tests share: a robot host's builder on the edge fixture's cluster, and reading a robot's replies.</summary>
internal static class RobotTestHost
{
    /// <summary>A host builder configured for the fixture's cluster, catching up every second; the test adds the robot.</summary>
    public static HostApplicationBuilder Builder(EdgeFixture fixture)
    {
        var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], DisableDefaults = true });
        builder.Logging.SetMinimumLevel(LogLevel.Error);
        builder.Configuration.AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["IM:ClusterId"] = fixture.Cluster.ClusterId,
            ["IM:ServiceId"] = fixture.Cluster.ServiceId,
            ["IM:Redis:ConnectionString"] = TestServices.RedisConnectionString,
            ["IM:Robot:CatchUpInterval"] = "00:00:01",
        });
        return builder;
    }

    /// <summary>A shop with one agent, whose customer service <paramref name="robot"/> covers while no agent is online.</summary>
    public static async Task CreateShopWithRobotAsync(EdgeFixture fixture, string shop, string agent, string robot)
    {
        await fixture.CreateAccountAsync(agent, AccountRole.Agent);
        await fixture.CreateAccountAsync(robot, AccountRole.Robot);
        using (var created = await fixture.AdminCallAsync(HttpMethod.Post, "/api/admin/shops", new CreateShopBody(shop, "The Shop", [agent])))
        {
            Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        }

        using var set = await fixture.AdminCallAsync(HttpMethod.Put, $"/api/admin/shops/{shop}/customer-service/settings",
            new CustomerServiceSettings(AutoReplyRobotId: robot));
        Assert.Equal(HttpStatusCode.NoContent, set.StatusCode);
    }

    /// <summary>The texts <paramref name="robot"/> wrote in a conversation, as <paramref name="user"/> pulls them.</summary>
    public static async Task<IReadOnlyList<string?>> RepliesAsync(EdgeFixture fixture, string conversation, string user, string robot)
    {
        var pulled = await fixture.Orleans.GetGrain<IConversationGrain>(conversation).PullAsync(user, new PullRequest());
        return pulled.Messages.Where(m => m.SenderId == robot).Select(m => m.Content?.Text).ToList();
    }
}
