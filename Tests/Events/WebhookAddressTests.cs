using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;
using Orleans.Im.Silo.Webhooks;
using Orleans.Im.Webhooks;

namespace Orleans.Im.Tests.Events;

/// <summary>Where webhooks may be delivered, and how their URLs are shown.</summary>
[Trait("Category", "Unit")]
public sealed class WebhookAddressTests
{
    [Theory]
    [InlineData("127.0.0.1")]
    [InlineData("127.8.9.10")]
    [InlineData("0.0.0.0")]
    [InlineData("169.254.169.254")]
    [InlineData("::1")]
    [InlineData("::")]
    [InlineData("fe80::1")]
    [InlineData("::ffff:127.0.0.1")]
    [InlineData("::ffff:169.254.169.254")]
    [InlineData("100.100.100.200")]
    [InlineData("fd00:ec2::254")]
    [InlineData("168.63.129.16")]
    [InlineData("64:ff9b::7f00:1")]
    [InlineData("64:ff9b::a9fe:a9fe")]
    [InlineData("2002:7f00:1::1")]
    [InlineData("64:ff9b:1:7f00:1::")]
    [InlineData("64:ff9b:1::a9fe:a9fe")]
    public void Loopback_link_local_unspecified_and_cloud_metadata_addresses_are_local_and_refused_unless_local_addresses_are_allowed(string address)
    {
        var parsed = IPAddress.Parse(address);
        Assert.Equal(WebhookAddressScope.Local, WebhookAddresses.ScopeOf(parsed));
        Assert.False(WebhookAddresses.IsAllowed(parsed, allowPrivateNetworks: true, allowLocalAddresses: false));
        Assert.True(WebhookAddresses.IsAllowed(parsed, allowPrivateNetworks: false, allowLocalAddresses: true));
        Assert.NotNull(WebhookAddresses.RefusedHost(UrlOf(address), allowPrivateNetworks: true, allowLocalAddresses: false));
        Assert.Null(WebhookAddresses.RefusedHost(UrlOf(address), allowPrivateNetworks: true, allowLocalAddresses: true));
    }

    [Theory]
    [InlineData("10.1.2.3")]
    [InlineData("172.16.0.1")]
    [InlineData("172.31.255.255")]
    [InlineData("192.168.1.1")]
    [InlineData("100.64.0.1")]
    [InlineData("fd00::1")]
    [InlineData("::ffff:10.0.0.5")]
    [InlineData("64:ff9b::a00:5")]
    [InlineData("2002:c0a8:101::1")]
    public void Private_network_addresses_are_allowed_unless_private_networks_are_not(string address)
    {
        var parsed = IPAddress.Parse(address);
        Assert.Equal(WebhookAddressScope.PrivateNetwork, WebhookAddresses.ScopeOf(parsed));
        Assert.True(WebhookAddresses.IsAllowed(parsed, allowPrivateNetworks: true, allowLocalAddresses: false));
        Assert.False(WebhookAddresses.IsAllowed(parsed, allowPrivateNetworks: false, allowLocalAddresses: true));
        Assert.Null(WebhookAddresses.RefusedHost(UrlOf(address), allowPrivateNetworks: true, allowLocalAddresses: false));
        Assert.NotNull(WebhookAddresses.RefusedHost(UrlOf(address), allowPrivateNetworks: false, allowLocalAddresses: false));
    }

    [Theory]
    [InlineData("255.255.255.255")]
    [InlineData("224.0.0.1")]
    [InlineData("ff02::1")]
    public void Multicast_and_broadcast_addresses_are_never_allowed(string address)
    {
        Assert.False(WebhookAddresses.IsAllowed(IPAddress.Parse(address), allowPrivateNetworks: true, allowLocalAddresses: true));
        Assert.NotNull(WebhookAddresses.RefusedHost(UrlOf(address), allowPrivateNetworks: true, allowLocalAddresses: true));
    }

    [Theory]
    [InlineData("93.184.215.14")]
    [InlineData("172.32.0.1")]
    [InlineData("100.128.0.1")]
    [InlineData("2606:2800:21f:cb07:6820:80da:af6b:8b2c")]
    [InlineData("64:ff9b::5db8:d70e")]
    public void Public_addresses_are_always_allowed(string address) =>
        Assert.True(WebhookAddresses.IsAllowed(IPAddress.Parse(address), allowPrivateNetworks: false, allowLocalAddresses: false));

    [Theory]
    [InlineData("http://localhost:5000/hook")]
    [InlineData("http://api.localhost/hook")]
    public void Localhost_is_refused_by_name(string url) =>
        Assert.NotNull(WebhookAddresses.RefusedHost(new Uri(url), allowPrivateNetworks: true, allowLocalAddresses: false));

    [Fact]
    public void Other_names_are_left_to_the_connect_time_check() =>
        Assert.Null(WebhookAddresses.RefusedHost(new Uri("https://stats.example/im"), allowPrivateNetworks: false, allowLocalAddresses: false));

    [Theory]
    [InlineData("https://user:pass@stats.example:8443/im/events?token=secret#frag", "https://stats.example:8443/im/events")]
    [InlineData("https://stats.example/im?key=secret", "https://stats.example/im")]
    [InlineData("http://127.0.0.1:5000/fail", "http://127.0.0.1:5000/fail")]
    [InlineData("not a url", "(not a URL)")]
    public void A_redacted_url_keeps_scheme_host_port_and_path_only(string url, string redacted) =>
        Assert.Equal(redacted, WebhookAddresses.Redact(url));

    [Fact]
    public async Task Deliveries_connect_to_loopback_only_when_local_addresses_are_allowed()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        await using var receiver = builder.Build();
        receiver.MapPost("/hook", () => Results.Ok());
        await receiver.StartAsync();
        var port = new Uri(receiver.Urls.Single()).Port;

        using (var refusing = new HttpClient(WebhookSender.CreateHandler(new WebhookOptions())))
        {
            foreach (var url in new[] { $"http://127.0.0.1:{port}/hook", $"http://localhost:{port}/hook" })
            {
                var refused = await Assert.ThrowsAsync<HttpRequestException>(() => refusing.PostAsync(url, null));
                Assert.Contains("has no address a webhook may be delivered to", refused.Message + refused.InnerException?.Message, StringComparison.Ordinal);
            }
        }

        using var allowing = new HttpClient(WebhookSender.CreateHandler(new WebhookOptions { AllowLocalAddresses = true }));
        using var response = await allowing.PostAsync($"http://localhost:{port}/hook", null);
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
    }

    private static Uri UrlOf(string address) => new($"http://{(address.Contains(':') ? $"[{address}]" : address)}:8080/hook");
}
