using System.Net;

namespace Orleans.Im.AgentConsole;

/// <summary>Where and as whom the console signs in. From the command line; what is missing is asked for.</summary>
public sealed class ConsoleOptions
{
    /// <summary>The edge host's HTTP API (sign in, token refresh).</summary>
    public Uri Http { get; set; } = new("http://127.0.0.1:5080");

    /// <summary>The edge host's TCP address (the mobile protocol).</summary>
    public string TcpHost { get; set; } = "127.0.0.1";

    public int TcpPort { get; set; } = 5090;

    public string? User { get; set; }

    public string? Password { get; set; }

    public string? Shop { get; set; }

    /// <summary>
    /// Stable per machine, so a restarted console replaces its old connection instead of adding one, and the agent's
    /// consoles on two machines do not sign each other out.
    /// </summary>
    public string DeviceId { get; set; } = DefaultDeviceId(Environment.MachineName);

    /// <summary><c>agent-console-{machine}</c>, with what a device id may not hold left out (at most 64 characters).</summary>
    internal static string DefaultDeviceId(string machineName)
    {
        var machine = new string([.. machineName.ToLowerInvariant().Where(c => char.IsAsciiLetterOrDigit(c) || c is '-' or '_')]);
        var id = machine.Length == 0 ? "agent-console" : "agent-console-" + machine;
        return id[..Math.Min(id.Length, 64)];
    }

    /// <summary>How often the queue length and own sessions are asked for (sessions also refresh on every event).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    /// <summary>How long quitting waits for the logout and the client's shutdown (best effort when the connection is down).</summary>
    public TimeSpan QuitTimeout { get; set; } = TimeSpan.FromSeconds(3);

    /// <summary>The command line, as the error message shows it.</summary>
    public const string Usage = "usage: Orleans.Im.AgentConsole [--http URL] [--tcp HOST:PORT] [--user ID] [--password P] [--shop ID] [--device ID]";

    /// <summary>Parses the command line; null (and an error saying what is wrong) when it is not usable.</summary>
    public static ConsoleOptions? Parse(IReadOnlyList<string> args, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ConsoleOptions();
        for (var i = 0; i < args.Count; i += 2)
        {
            if (i + 1 >= args.Count)
            {
                error = $"{args[i]} needs a value";
                return null;
            }

            var value = args[i + 1];
            error = args[i] switch
            {
                "--http" => SetHttp(options, value),
                "--tcp" => SetTcp(options, value),
                "--user" => Set(() => options.User = value),
                "--password" => Set(() => options.Password = value),
                "--shop" => Set(() => options.Shop = value),
                "--device" => Set(() => options.DeviceId = value),
                _ => $"unknown option {args[i]}",
            };
            if (error is not null)
            {
                return null;
            }
        }

        error = null;
        return options;
    }

    private static string? Set(Action set)
    {
        set();
        return null;
    }

    private static string? SetHttp(ConsoleOptions options, string value)
    {
        if (!Uri.TryCreate(value, UriKind.Absolute, out var uri) || uri.Scheme is not ("http" or "https"))
        {
            return $"--http needs an http:// or https:// URL, not '{value}'";
        }

        options.Http = uri;
        return null;
    }

    private static string? SetTcp(ConsoleOptions options, string value)
    {
        var colon = value.LastIndexOf(':');
        if (colon <= 0
            || !int.TryParse(value.AsSpan(colon + 1), System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var port)
            || port is < IPEndPoint.MinPort + 1 or > IPEndPoint.MaxPort)
        {
            return $"--tcp needs HOST:PORT with a port from 1 to {IPEndPoint.MaxPort}, not '{value}'";
        }

        // An IPv6 address is written in brackets ([::1]:5090); the socket wants it without.
        options.TcpHost = value[..colon].Trim('[', ']');
        options.TcpPort = port;
        return null;
    }
}
