namespace Orleans.Im.Bench.Load;

/// <summary>
/// <c>--client lean|sdk</c> of the TCP load commands: the generator's lean client (the default: the SDK's per-message
/// bookkeeping cost the generator about as much CPU as the silo, on the same two cores) or the SDK itself.
/// </summary>
public static class TcpClientOption
{
    public const string Name = "client";

    public const string OptionsHelp = """
          --client lean|sdk         TCP users through the generator's lean client (lean, the default) or the SDK
        """;

    public static Transport From(CommandLineOptions options)
    {
        ArgumentNullException.ThrowIfNull(options);
        return options.GetString(Name, "lean") switch
        {
            "lean" => Transport.TcpLean,
            "sdk" => Transport.Tcp,
            var other => throw new ArgumentException($"--client {other}: expected lean or sdk"),
        };
    }

    /// <summary>How a report names the client the users ran on.</summary>
    public static string NameOf(Transport transport) => transport switch
    {
        Transport.Tcp => "sdk",
        Transport.TcpLean => "lean",
        _ => "signalr",
    };
}
