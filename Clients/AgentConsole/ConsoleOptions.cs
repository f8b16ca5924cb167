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

    /// <summary>Stable per installation, so a restarted console replaces its old connection instead of adding one.</summary>
    public string DeviceId { get; set; } = "agent-console";

    /// <summary>How often the queue length and own sessions are asked for (sessions also refresh on every event).</summary>
    public TimeSpan PollInterval { get; set; } = TimeSpan.FromSeconds(2);

    public static ConsoleOptions Parse(string[] args)
    {
        ArgumentNullException.ThrowIfNull(args);
        var options = new ConsoleOptions();
        for (var i = 0; i < args.Length; i++)
        {
            var value = i + 1 < args.Length ? args[i + 1] : throw new ArgumentException($"{args[i]} needs a value");
            switch (args[i])
            {
                case "--http":
                    options.Http = new Uri(value);
                    break;
                case "--tcp":
                    var colon = value.LastIndexOf(':');
                    options.TcpHost = value[..colon];
                    options.TcpPort = int.Parse(value[(colon + 1)..], System.Globalization.CultureInfo.InvariantCulture);
                    break;
                case "--user":
                    options.User = value;
                    break;
                case "--password":
                    options.Password = value;
                    break;
                case "--shop":
                    options.Shop = value;
                    break;
                case "--device":
                    options.DeviceId = value;
                    break;
                default:
                    throw new ArgumentException($"unknown option {args[i]} (--http URL --tcp HOST:PORT --user ID --password P --shop ID --device ID)");
            }

            i++;
        }

        return options;
    }
}
