using System.Globalization;

namespace Orleans.Im.Bench;

/// <summary>
/// Options of one command, given as <c>--name value</c> pairs. Unknown or repeated names are refused, so that a typo
/// does not silently measure the defaults.
/// </summary>
public sealed class CommandLineOptions
{
    private readonly Dictionary<string, string> _values;

    private CommandLineOptions(Dictionary<string, string> values) => _values = values;

    /// <summary>Reads <paramref name="args"/>; throws <see cref="ArgumentException"/> on anything but known pairs.</summary>
    public static CommandLineOptions Parse(IReadOnlyList<string> args, IReadOnlyCollection<string> knownNames)
    {
        ArgumentNullException.ThrowIfNull(args);
        ArgumentNullException.ThrowIfNull(knownNames);
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        for (var i = 0; i < args.Count; i += 2)
        {
            var name = args[i];
            if (!name.StartsWith("--", StringComparison.Ordinal) || !knownNames.Contains(name[2..]))
            {
                throw new ArgumentException($"unknown option '{name}'");
            }

            if (i + 1 >= args.Count)
            {
                throw new ArgumentException($"option '{name}' needs a value");
            }

            if (!values.TryAdd(name[2..], args[i + 1]))
            {
                throw new ArgumentException($"option '{name}' is given twice");
            }
        }

        return new CommandLineOptions(values);
    }

    public string GetString(string name, string defaultValue) => _values.GetValueOrDefault(name, defaultValue);

    /// <summary>An integer option within [<paramref name="min"/>, <paramref name="max"/>].</summary>
    public int GetInt(string name, int defaultValue, int min, int max)
    {
        if (!_values.TryGetValue(name, out var text))
        {
            return defaultValue;
        }

        if (!int.TryParse(text, NumberStyles.None, CultureInfo.InvariantCulture, out var value) || value < min || value > max)
        {
            throw new ArgumentException($"option '--{name}' must be an integer from {min} to {max}, not '{text}'");
        }

        return value;
    }
}
