using Orleans.Im.Events;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Webhooks;

namespace Orleans.Im.Tests.Events;

/// <summary>
/// The firehose's Redis stalls (frozen with its connections open) while a webhook is registered: its commands time out
/// rather than fail, and the silo, which measures each webhook's lag there, must ride it out like an outage.
/// </summary>
[Trait("Category", "Integration")]
public sealed class WebhookRedisStallTests
{
    /// <summary>Longer than StackExchange.Redis's command timeout (5 s), so that commands in flight time out.</summary>
    private static readonly TimeSpan Stall = TimeSpan.FromSeconds(8);

    [Fact]
    public async Task A_redis_stall_longer_than_the_command_timeout_does_not_stop_a_silo_with_a_webhook()
    {
        await using var redis = await PrivateRedis.StartAsync();
        await using var cluster = new SiloCluster("webhook-stall", serviceId: "webhook-stall-" + Guid.NewGuid().ToString("N"));
        var silo = await cluster.StartSiloAsync(settings: new Dictionary<string, string>
        {
            ["IM__Events__Redis"] = redis.ConnectionString,
            ["IM__Webhooks__RefreshInterval"] = "00:00:00.500",
            ["IM__Webhooks__AllowLocalAddresses"] = "true",
        });
        var client = await cluster.ConnectClientAsync();
        var registered = await client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey)
            .RegisterAsync("http://127.0.0.1:9/nobody", [EventClass.Message], secret: null, description: "stall test");
        Assert.NotNull(registered.Registration);
        var series = $"im_webhook_lag{{webhook=\"{registered.Registration.Id}\"}}";

        // Measured once its consumers made the group: the refresh is reading Redis every half second.
        await Eventually.ReturnsAsync(() => PrometheusScrape.ReadAsync(silo.Endpoints.HttpPort), s => s.Samples.ContainsKey(series), TimeSpan.FromSeconds(60));

        await redis.PauseAsync();
        try
        {
            await Task.Delay(Stall);
        }
        finally
        {
            await redis.ResumeAsync();
        }

        // Still running, and measuring again once Redis answers.
        Assert.False(silo.Process.HasExited, silo.Process.Output);
        await silo.Process.WaitHealthyAsync(TimeSpan.FromSeconds(30));
        var after = await PrometheusScrape.ReadAsync(silo.Endpoints.HttpPort);
        Assert.True(after.Samples.ContainsKey(series), "the webhook's lag is measured again");
        Assert.False(silo.Process.HasExited, silo.Process.Output);
    }
}
