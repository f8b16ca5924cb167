namespace Orleans.Im.RobotSamples;

/// <summary>The command line of the samples: <c>echo-bot | faq --file PATH | shop-auto-reply --shop ID [--file PATH]</c>, plus <c>--robot ID</c> and <c>--secret S</c>.</summary>
public sealed record SampleArguments(string Command, string? RobotId, string? Secret, string? File, string? Shop)
{
    public const string Usage = """
        usage: Orleans.Im.RobotSamples <robot> [options]
          echo-bot                                   replies with what it got (account echo-bot)
          faq --file PATH                            answers by keywords from a JSON file (account faq-bot)
          shop-auto-reply --shop ID [--file PATH]    answers a shop's customers while no agent is online (account ID-bot)
        options: --robot ID (the robot account), --secret S (its password, when it has one; or IM__Robot__Secret)
        cluster: IM__ClusterId, IM__ServiceId, IM__Redis__ConnectionString (appsettings.json beside the program)
        """;

    /// <summary>Parses the command line; null (and an error) when it is not usable.</summary>
    public static SampleArguments? Parse(IReadOnlyList<string> args, out string? error)
    {
        ArgumentNullException.ThrowIfNull(args);
        error = null;
        if (args.Count == 0 || args[0] is not ("echo-bot" or "faq" or "shop-auto-reply"))
        {
            error = args.Count == 0 ? "which robot?" : $"unknown robot '{args[0]}'";
            return null;
        }

        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 1; i < args.Count; i += 2)
        {
            if (args[i] is not ("--robot" or "--secret" or "--file" or "--shop") || i + 1 >= args.Count)
            {
                error = $"unexpected '{args[i]}'";
                return null;
            }

            values[args[i]] = args[i + 1];
        }

        var parsed = new SampleArguments(args[0], values.GetValueOrDefault("--robot"), values.GetValueOrDefault("--secret"),
            values.GetValueOrDefault("--file"), values.GetValueOrDefault("--shop"));
        error = parsed.Command switch
        {
            "faq" when parsed.File is null => "faq needs --file",
            "shop-auto-reply" when !GrainKeys.IsValidId(parsed.Shop) => "shop-auto-reply needs --shop with a valid shop id",
            _ => null,
        };
        return error is null ? parsed : null;
    }

    /// <summary>The robot account: <c>--robot</c>, else the sample's default.</summary>
    public string DefaultRobotId => RobotId ?? Command switch
    {
        "echo-bot" => "echo-bot",
        "faq" => "faq-bot",
        _ => $"{Shop}-bot",
    };
}
