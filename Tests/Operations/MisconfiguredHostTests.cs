using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

/// <summary>
/// A real host process given an option out of bounds, misspelt or unreadable refuses to start at once, and says in one
/// log line which key to change.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MisconfiguredHostTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_edge_host_given_a_bare_number_for_a_time_span_exits_naming_the_key()
    {
        // Meant as seconds, read as 120 days: idle connections would never be closed.
        await using var edge = StartEdge("IM__Edge__IdleTimeout", "120");

        await AssertExitsSayingAsync(edge, ExitTimeout, "Cannot start: ", "IM:Edge:IdleTimeout must be between");
        Assert.DoesNotContain("Unhandled exception", edge.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edge_host_given_a_value_it_cannot_read_exits_naming_the_key_without_a_stack_trace()
    {
        await using var edge = StartEdge("IM__Edge__IdleTimeout", "2 minutes");

        await AssertExitsSayingAsync(edge, ExitTimeout, "Cannot start: Failed to convert configuration value '2 minutes' at 'IM:Edge:IdleTimeout'");
        Assert.DoesNotContain("Unhandled exception", edge.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_given_a_port_it_cannot_read_exits_naming_the_key_without_a_stack_trace()
    {
        await using var silo = StartSilo("IM__Silo__SiloPort", "eleven");

        await AssertExitsSayingAsync(silo, ExitTimeout, "Cannot start: Failed to convert configuration value 'eleven' at 'IM:Silo:SiloPort'");
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_given_a_misspelt_orleans_setting_exits_naming_it()
    {
        // Orleans binds its own options without a word about keys it does not know: the default would stay.
        await using var silo = StartSilo("IM__Silo__Membership__ProbeTimout", "00:00:02");

        await AssertExitsSayingAsync(silo, ExitTimeout, "IM:Silo:Membership:ProbeTimout is not a setting of ClusterMembershipOptions");
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_given_a_bare_number_for_a_time_span_exits_at_once_naming_the_key_without_waiting_for_its_database()
    {
        // Meant as seconds, read as 30 days: nobody would be seen offline for a month.
        await using var silo = StartSilo("IM__Users__PresenceGrace", "30");

        // Well before the minute a silo waits for its (unreachable) database.
        await AssertExitsSayingAsync(silo, TimeSpan.FromSeconds(30), "Cannot start: ", "IM:Users:PresenceGrace must be between");
        Assert.DoesNotContain("PostgreSQL is not reachable", silo.Output, StringComparison.Ordinal);
    }

    /// <summary>The host exits with status 1 within <paramref name="within"/>, having said each of <paramref name="says"/>.</summary>
    private static async Task AssertExitsSayingAsync(HostProcess host, TimeSpan within, params string[] says)
    {
        Assert.Equal(1, await host.WaitForExitAsync(within));
        foreach (var said in says)
        {
            Assert.Contains(said, host.Output, StringComparison.Ordinal);
        }
    }

    /// <summary>An edge host with one bad setting; never connected: the options are checked before the host connects to anything.</summary>
    private static HostProcess StartEdge(string key, string value)
    {
        var httpPort = FreePorts.Next();
        return HostProcess.Start("EdgeHost", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Auth__SigningKey"] = Orleans.Im.EdgeHost.Auth.AccessTokens.NewSigningKey(),
            ["IM__Edge__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Edge__TcpPorts__0"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            [key] = value,
        });
    }

    /// <summary>A silo with one bad setting, whose database and Redis are unreachable: a bad option is named before they are waited for.</summary>
    private static HostProcess StartSilo(string key, string value)
    {
        var httpPort = FreePorts.Next();
        return HostProcess.Start("Silo", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            ["IM__Postgres__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2",
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Silo__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Silo__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Silo__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            [key] = value,
        });
    }
}
