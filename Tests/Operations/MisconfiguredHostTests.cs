using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

/// <summary>
/// A real host process given an option out of bounds refuses to start at once, and says in one log line which key to
/// change.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MisconfiguredHostTests
{
    private static readonly TimeSpan ExitTimeout = TimeSpan.FromSeconds(60);

    [Fact]
    public async Task An_edge_host_given_a_bare_number_for_a_time_span_exits_naming_the_key()
    {
        var httpPort = FreePorts.Next();
        await using var edge = HostProcess.Start("EdgeHost", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            // Never reached: the options are checked before the host connects to anything.
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Auth__SigningKey"] = Orleans.Im.EdgeHost.Auth.AccessTokens.NewSigningKey(),
            ["IM__Edge__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Edge__TcpPorts__0"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Meant as seconds, read as 120 days: idle connections would never be closed.
            ["IM__Edge__IdleTimeout"] = "120",
        });

        var exitCode = await edge.WaitForExitAsync(ExitTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("Cannot start: ", edge.Output, StringComparison.Ordinal);
        Assert.Contains("IM:Edge:IdleTimeout must be between", edge.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", edge.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task An_edge_host_given_a_value_it_cannot_read_exits_naming_the_key_without_a_stack_trace()
    {
        var httpPort = FreePorts.Next();
        await using var edge = HostProcess.Start("EdgeHost", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Auth__SigningKey"] = Orleans.Im.EdgeHost.Auth.AccessTokens.NewSigningKey(),
            ["IM__Edge__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Edge__TcpPorts__0"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Edge__IdleTimeout"] = "2 minutes",
        });

        var exitCode = await edge.WaitForExitAsync(ExitTimeout);

        Assert.Equal(1, exitCode);
        Assert.Contains("Cannot start: Failed to convert configuration value '2 minutes' at 'IM:Edge:IdleTimeout'", edge.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", edge.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_given_a_port_it_cannot_read_exits_naming_the_key_without_a_stack_trace()
    {
        var httpPort = FreePorts.Next();
        await using var silo = HostProcess.Start("Silo", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            ["IM__Postgres__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2",
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Silo__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Silo__SiloPort"] = "eleven",
        });

        var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("Cannot start: Failed to convert configuration value 'eleven' at 'IM:Silo:SiloPort'", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_given_a_misspelt_orleans_setting_exits_naming_it()
    {
        var httpPort = FreePorts.Next();
        await using var silo = HostProcess.Start("Silo", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            ["IM__Postgres__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2",
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Silo__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Silo__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Silo__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Orleans binds its own options without a word about keys it does not know: the default would stay.
            ["IM__Silo__Membership__ProbeTimout"] = "00:00:02",
        });

        var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("IM:Silo:Membership:ProbeTimout is not a setting of ClusterMembershipOptions", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("Unhandled exception", silo.Output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task A_silo_given_a_bare_number_for_a_time_span_exits_at_once_naming_the_key_without_waiting_for_its_database()
    {
        var httpPort = FreePorts.Next();
        await using var silo = HostProcess.Start("Silo", httpPort, new Dictionary<string, string>
        {
            ["IM__ClusterId"] = "misconfigured",
            ["IM__ServiceId"] = "misconfigured",
            // Unreachable: a silo waits up to a minute for its database, but a bad option is named before that.
            ["IM__Postgres__ConnectionString"] = "Host=127.0.0.1;Port=1;Database=none;Username=none;Timeout=2",
            ["IM__Redis__ConnectionString"] = "127.0.0.1:1",
            ["IM__Silo__HttpUrl"] = $"http://127.0.0.1:{httpPort}",
            ["IM__Silo__SiloPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Silo__GatewayPort"] = FreePorts.Next().ToString(System.Globalization.CultureInfo.InvariantCulture),
            // Meant as seconds, read as 30 days: nobody would be seen offline for a month.
            ["IM__Users__PresenceGrace"] = "30",
        });

        var exitCode = await silo.WaitForExitAsync(TimeSpan.FromSeconds(30));

        Assert.Equal(1, exitCode);
        Assert.Contains("Cannot start: ", silo.Output, StringComparison.Ordinal);
        Assert.Contains("IM:Users:PresenceGrace must be between", silo.Output, StringComparison.Ordinal);
        Assert.DoesNotContain("PostgreSQL is not reachable", silo.Output, StringComparison.Ordinal);
    }
}
