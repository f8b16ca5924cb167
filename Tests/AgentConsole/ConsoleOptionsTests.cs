using Orleans.Im.AgentConsole;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>The agent console's command line: a usable one parsed, anything else a clear error instead of a stack trace.</summary>
[Trait("Category", "Unit")]
public sealed class ConsoleOptionsTests
{
    [Fact]
    public void A_full_command_line_is_parsed()
    {
        var options = ConsoleOptions.Parse(
            ["--http", "https://im.example.invalid:8443", "--tcp", "edge.example.invalid:5091", "--user", "agent1", "--password", "p", "--shop", "shop1", "--device", "d1"],
            out var error);

        Assert.Null(error);
        Assert.NotNull(options);
        Assert.Equal(new Uri("https://im.example.invalid:8443"), options.Http);
        Assert.Equal(("edge.example.invalid", 5091), (options.TcpHost, options.TcpPort));
        Assert.Equal(("agent1", "p", "shop1", "d1"), (options.User, options.Password, options.Shop, options.DeviceId));
    }

    [Theory]
    [InlineData("DESK-07", "agent-console-desk-07")]
    [InlineData("My PC.local", "agent-console-mypclocal")]
    [InlineData("…", "agent-console")]
    public void The_default_device_id_is_the_machines_so_consoles_on_two_machines_do_not_sign_each_other_out(string machine, string expected)
    {
        Assert.Equal(expected, ConsoleOptions.DefaultDeviceId(machine));
        Assert.True(GrainKeys.IsValidId(ConsoleOptions.DefaultDeviceId(new string('m', 200))));
    }

    [Fact]
    public void An_ipv6_address_in_brackets_is_taken_without_them()
    {
        var options = ConsoleOptions.Parse(["--tcp", "[::1]:5090"], out _);
        Assert.Equal(("::1", 5090), (options?.TcpHost, options?.TcpPort));
    }

    [Theory]
    [InlineData("--tcp", "edge", "--tcp needs HOST:PORT")]
    [InlineData("--tcp", "edge:", "--tcp needs HOST:PORT")]
    [InlineData("--tcp", ":5090", "--tcp needs HOST:PORT")]
    [InlineData("--tcp", "edge:70000", "--tcp needs HOST:PORT")]
    [InlineData("--tcp", "edge:0", "--tcp needs HOST:PORT")]
    [InlineData("--tcp", "edge:-1", "--tcp needs HOST:PORT")]
    [InlineData("--http", "not a url", "--http needs an http:// or https:// URL")]
    [InlineData("--http", "ftp://host", "--http needs an http:// or https:// URL")]
    [InlineData("--colour", "red", "unknown option --colour")]
    public void A_bad_option_is_an_error_that_says_what_is_wrong(string option, string value, string expected)
    {
        Assert.Null(ConsoleOptions.Parse([option, value], out var error));
        Assert.StartsWith(expected, error, StringComparison.Ordinal);
    }

    [Fact]
    public void An_option_without_its_value_is_an_error()
    {
        Assert.Null(ConsoleOptions.Parse(["--user", "a", "--shop"], out var error));
        Assert.Equal("--shop needs a value", error);
    }
}
