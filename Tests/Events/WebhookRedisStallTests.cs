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
            ["Logging__LogLevel__Orleans.Im.Silo.Webhooks.WebhookDispatcher"] = "Debug",
        });
        var client = await cluster.ConnectClientAsync();
        var registered = await client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey)
            .RegisterAsync("http://127.0.0.1:9/nobody", [EventClass.Message], secret: null, description: "stall test");
        Assert.NotNull(registered.Registration);
        var series = $"im_webhook_lag{{webhook=\"{registered.Registration.Id}\"}}";

        // Measured once its consumers made the group: the refresh is reading Redis every half second.
        await Eventually.UntilAsync(() => PrometheusScrape.ReadAsync(silo.Endpoints.HttpPort), s => s.Samples.ContainsKey(series), TimeSpan.FromSeconds(60));

        await redis.PauseAsync();
        try
        {
            // Until the refresh's own read of the lag timed out: said (at debug level) by a silo that rides it out, and by
            // the host when it escapes.
            await Eventually.UntilAsync(() => Task.FromResult(silo.Process.Output),
                o => o.Contains("lag not measured: Timeout", StringComparison.Ordinal) || o.Contains("BackgroundService failed", StringComparison.Ordinal),
                TimeSpan.FromSeconds(60));
        }
        finally
        {
            await redis.ResumeAsync();
        }

        // The refresh that timed out went on; the host was not told to stop (it would not exit at once: its shutdown is
        // graceful), and the silo still serves.
        await silo.Process.WaitHealthyAsync(TimeSpan.FromSeconds(30));
        Assert.DoesNotContain("Application is shutting down", silo.Process.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("BackgroundService failed", silo.Process.Output, StringComparison.Ordinal);
        Assert.False(silo.Process.HasExited, silo.Process.Output);

        // And the refreshes go on: a webhook registered now starts delivering on this silo.
        var later = await client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey)
            .RegisterAsync("http://127.0.0.1:9/later", [EventClass.Message], secret: null, description: "after the stall");
        Assert.NotNull(later.Registration);
        await Eventually.UntilAsync(() => Task.FromResult(silo.Process.Output),
            o => o.Contains($"Webhook {later.Registration.Id}: delivering to", StringComparison.Ordinal), TimeSpan.FromSeconds(30));
        Assert.False(silo.Process.HasExited, silo.Process.Output);
    }
}
