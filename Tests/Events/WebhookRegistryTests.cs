using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Webhooks;

namespace Orleans.Im.Tests.Events;

/// <summary>The registry grain with the default options (private networks allowed, local addresses not).</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Integration")]
public sealed class WebhookRegistryTests(ClusterFixture fixture)
{
    [Theory]
    [InlineData("http://127.0.0.1:8080/hook")]
    [InlineData("http://169.254.169.254/latest/meta-data/")]
    [InlineData("http://[::1]/hook")]
    [InlineData("http://0.0.0.0/hook")]
    [InlineData("http://localhost/hook")]
    public async Task A_url_on_a_local_address_is_refused_by_default(string url)
    {
        var registry = fixture.Client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);

        var result = await registry.RegisterAsync(url, [EventClass.Message], null, null);

        Assert.Equal(AccessStatus.Invalid, result.Status);
        Assert.Contains("AllowLocalAddresses", result.Error, StringComparison.Ordinal);
        Assert.DoesNotContain(await registry.ListAsync(), w => w.Url == url);
    }

    [Theory]
    [InlineData("https://93.184.215.14/im-events")]
    [InlineData("http://10.0.0.5/hook")]
    public async Task A_url_on_a_public_address_or_a_private_network_is_taken(string url)
    {
        var registry = fixture.Client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);

        var result = await registry.RegisterAsync(url, [EventClass.Message], null, null);

        Assert.Equal(AccessStatus.Ok, result.Status);
        Assert.True(await registry.RemoveAsync(result.Registration!.Id));
    }

    [Fact]
    public async Task A_registration_or_removal_whose_write_failed_is_not_listed_as_done()
    {
        var registry = fixture.Client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);
        var kept = (await registry.RegisterAsync("http://10.0.0.7/kept", [EventClass.Message], null, null)).Registration!;

        // The registry's storage refuses writes: the admin is told so, and silos are not handed what was not stored (a
        // webhook delivered to, signed with a secret nobody got; one removed in memory that comes back later).
        var storage = GrainId.Create("webhookregistry", IWebhookRegistryGrain.DefaultKey);
        fixture.StorageFaults.Fail(storage);
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => registry.RegisterAsync("http://10.0.0.8/failed", [EventClass.Message], null, null));
            await Assert.ThrowsAnyAsync<Exception>(() => registry.RemoveAsync(kept.Id));
        }
        finally
        {
            Assert.True(fixture.StorageFaults.Heal(storage) >= 2);
        }

        var listed = await registry.ListAsync();
        Assert.DoesNotContain(listed, w => w.Url == "http://10.0.0.8/failed");
        Assert.Contains(listed, w => w.Id == kept.Id);
        Assert.True(await registry.RemoveAsync(kept.Id));
    }

    [Fact]
    public async Task A_registration_retried_after_its_answer_was_lost_is_answered_with_the_one_stored_not_made_twice()
    {
        var registry = fixture.Client.GetGrain<IWebhookRegistryGrain>(IWebhookRegistryGrain.DefaultKey);
        var storage = GrainId.Create("webhookregistry", IWebhookRegistryGrain.DefaultKey);
        const string Url = "http://10.0.0.9/retried";

        // Stored, but the answer is lost: the admin sees a failure and retries the same registration.
        fixture.StorageFaults.LoseNextAnswer(storage);
        await Assert.ThrowsAnyAsync<Exception>(() => registry.RegisterAsync(Url, [EventClass.Recall, EventClass.Message], null, "orders"));
        var retried = await registry.RegisterAsync(Url, [EventClass.Message, EventClass.Recall], null, "orders");

        // Before, a second webhook: every event delivered twice, one of the two signed with a secret nobody was given.
        Assert.Equal(AccessStatus.Ok, retried.Status);
        var listed = (await registry.ListAsync()).Where(w => w.Url == Url).ToList();
        Assert.Equal(retried.Registration!.Id, Assert.Single(listed).Id);

        // Other classes, or another secret, at the same address are another webhook.
        var other = await registry.RegisterAsync(Url, [EventClass.Message], null, null);
        var otherSecret = await registry.RegisterAsync(Url, [EventClass.Message, EventClass.Recall], new string('s', 32), null);
        Assert.Equal(3, new[] { retried.Registration.Id, other.Registration!.Id, otherSecret.Registration!.Id }.Distinct().Count());
        foreach (var id in new[] { retried.Registration.Id, other.Registration.Id, otherSecret.Registration.Id })
        {
            Assert.True(await registry.RemoveAsync(id));
        }
    }
}
