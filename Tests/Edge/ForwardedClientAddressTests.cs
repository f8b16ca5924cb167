using System.Net;
using System.Net.Http.Json;
using Orleans.Im.EdgeHost.Api.Contracts;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// Behind a balancer every client comes from the balancer's address: the per-address login and refresh limits count the
/// client address the trusted proxy forwards (<c>IM:Edge:TrustedProxies</c>, loopback by default, which the tests are),
/// and believe it from nobody else. Edge hosts of their own, with a small per-address allowance.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class ForwardedClientAddressTests(EdgeFixture fixture)
{
    private const int PerAddress = 3;
    private const int RefreshFailuresPerAddress = 5;

    private Dictionary<string, string> Settings(string? trustedProxy = null)
    {
        var settings = new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Auth__LoginAttemptsPerAddress"] = PerAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Auth__RefreshFailuresPerAddress"] = RefreshFailuresPerAddress.ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Longer than the test: nothing recovers while it runs.
            ["IM__Auth__LoginRateWindow"] = "00:10:00",
        };
        if (trustedProxy is not null)
        {
            settings["IM__Edge__TrustedProxies__0"] = trustedProxy;
        }

        return settings;
    }

    [Fact]
    public async Task Logins_and_refreshes_are_limited_per_forwarded_client_not_per_balancer()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(Settings());
        using var http = fixture.Http(edge.Endpoints.HttpPort);

        // One client spends its allowance (each guess at an account of its own, so only the address limit applies)...
        for (var i = 0; i < PerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, "203.0.113.1", Ids.User("nobody")));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginStatusAsync(http, "203.0.113.1", Ids.User("nobody")));

        // ...and another client behind the same balancer is not held back by it.
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, "203.0.113.2", Ids.User("nobody")));

        // Refreshes (anonymous, each activating the account grain it names) have the same allowance per client and user
        // it names...
        var stale = Ids.User("stale");
        for (var i = 0; i < PerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, "203.0.113.3", stale));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await RefreshStatusAsync(http, "203.0.113.3", stale));
        Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, "203.0.113.4", stale));

        // ...so others behind the same client address still renew; and a larger allowance per client whatever users
        // its refreshes name.
        for (var i = PerAddress; i < RefreshFailuresPerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await RefreshStatusAsync(http, "203.0.113.3", Ids.User("other")));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await RefreshStatusAsync(http, "203.0.113.3", Ids.User("other")));
    }

    [Fact]
    public async Task An_ipv6_client_counts_as_its_64_and_successful_logins_use_no_allowance()
    {
        await using var edge = await fixture.Cluster.StartEdgeAsync(Settings());
        using var http = fixture.Http(edge.Endpoints.HttpPort);

        // A guesser with a routed /64 tries from a new address each time: still one client.
        for (var i = 0; i < PerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, $"2001:db8:1:2::{i + 1:x}", Ids.User("nobody")));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginStatusAsync(http, "2001:db8:1:2:ffff::1", Ids.User("nobody")));
        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, "2001:db8:1:3::1", Ids.User("nobody")));

        // An office behind one address signs in again, more people than the allowance: right passwords are no failures.
        for (var i = 0; i < PerAddress + 2; i++)
        {
            var colleague = await fixture.NewUserAsync($"colleague{i}");
            Assert.Equal(HttpStatusCode.OK, await LoginStatusAsync(http, "203.0.113.50", colleague, ApiCalls.Password));
        }

        Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, "203.0.113.50", Ids.User("nobody")));
    }

    [Fact]
    public async Task A_forwarded_address_from_a_peer_that_is_not_a_trusted_proxy_is_ignored()
    {
        // Only 192.0.2.10 is trusted: the test's loopback peer is a client like any other, whatever it forwards.
        await using var edge = await fixture.Cluster.StartEdgeAsync(Settings(trustedProxy: "192.0.2.10"));
        using var http = fixture.Http(edge.Endpoints.HttpPort);

        for (var i = 0; i < PerAddress; i++)
        {
            Assert.Equal(HttpStatusCode.Unauthorized, await LoginStatusAsync(http, $"198.51.100.{i + 1}", Ids.User("nobody")));
        }

        Assert.Equal(HttpStatusCode.TooManyRequests, await LoginStatusAsync(http, "198.51.100.99", Ids.User("nobody")));
    }

    private static async Task<HttpStatusCode> LoginStatusAsync(HttpClient http, string forwardedFor, string userId, string password = "wrong password")
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/login")
        {
            Content = JsonContent.Create(new LoginBody(userId, password), options: ApiCalls.Json),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }

    private static async Task<HttpStatusCode> RefreshStatusAsync(HttpClient http, string forwardedFor, string userId)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, "/api/auth/refresh")
        {
            Content = JsonContent.Create(new RefreshBody(userId, "no-such-session", "no-such-token"), options: ApiCalls.Json),
        };
        request.Headers.Add("X-Forwarded-For", forwardedFor);
        using var response = await http.SendAsync(request);
        return response.StatusCode;
    }
}
