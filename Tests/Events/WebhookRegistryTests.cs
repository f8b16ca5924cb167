using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Webhooks;

namespace Orleans.Im.Tests.Events;

/// <summary>The registry grain with the default options (private addresses not allowed).</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Integration")]
public sealed class WebhookRegistryTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://10.0.0.5/hook")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://0.0.0.0/hook")]
    [InlineData("http://localhost/hook")]
    public async Task A_url_on_a_private_address_is_refused_by_default(string url)
    {
        var registry = fixture.Client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);

        var result = await registry.RegisterAsync(url, [EventClass.Message], null, null);

        Assert.Equal(AccessStatus.Invalid, result.Status);
        Assert.Contains("AllowPrivateAddresses", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(await registry.ListAsync(), w => w.Url == url);
    }

    [Fact]
    public async Task A_url_on_a_public_address_is_taken()
    {
        var registry = fixture.Client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);

        var result = await registry.RegisterAsync("https://93.184.215.14/im-events", [EventClass.Message], null, null);

        Assert.Equal(AccessStatus.Ok, result.Status);
        Assert.True(await registry.RemoveAsync(result.Registration!.Id));
    }
}
