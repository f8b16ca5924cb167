using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Operations;

/// <summary>A real host process given an option out of bounds refuses to start, and says which key to change.</summary>
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

        Assert.NotEqual(0, exitCode);
        Assert.Contains("IM:Edge:IdleTimeout must be between", edge.Output, StringComparison.Ordinal);
    }
}
