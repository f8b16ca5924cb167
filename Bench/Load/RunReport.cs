using System.Globalization;
using System.Text;
using System.Text.Json;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// The output of one run: one JSON line (appended to the results file and printed) and a human summary. Every report
/// carries the load average and the generator's CPU beside the hosts', because all share the same cores.
/// </summary>
public sealed class RunReport(string scenario)
{
    private static readonly JsonSerializerOptions JsonLine = new() { WriteIndented = false, PropertyNamingPolicy = JsonNamingPolicy.CamelCase };
    private readonly Dictionary<string, object?> _fields = new(StringComparer.Ordinal)
    {
        ["scenario"] = scenario,
        ["startedAt"] = DateTimeOffset.UtcNow,
        ["loadAverageBefore"] = SystemReadings.LoadAverage(),
    };
    private readonly StringBuilder _summary = new();

    /// <summary>
    /// The run's real start and the load before it; without this the report reads both when it is made, which for a
    /// report written after its run is the run's end.
    /// </summary>
    public RunReport Started(RunStart start)
    {
        ArgumentNullException.ThrowIfNull(start);
        _fields["startedAt"] = start.At;
        _fields["loadAverageBefore"] = start.LoadAverage;
        return this;
    }

    public RunReport Set(string name, object? value)
    {
        _fields[name] = value;
        return this;
    }

    public RunReport Line(string text)
    {
        _summary.AppendLine(text);
        return this;
    }

    /// <summary>Adds the resource figures, as fields and as summary lines.</summary>
    public RunReport Resources(IReadOnlyList<ResourceUse> uses)
    {
        _fields["resources"] = uses;
        foreach (var use in uses)
        {
            _summary.AppendLine(use.CpuCores is not { } cores
                ? $"  {use.Name,-24} not measured: {use.NotMeasured}"
                : string.Create(CultureInfo.InvariantCulture,
                    $"  {use.Name,-24} cpu {cores:0.00} cores{(use.ResidentBytesEnd is { } end ? $", rss {use.ResidentBytesStart / 1048576.0:0} → {end / 1048576.0:0} MiB" : "")}{(use.Connections > 0 ? $", {use.Connections:0} connections" : "")}"));
        }

        return this;
    }

    /// <summary>Prints the summary and the JSON line, and appends the line to <paramref name="resultsFile"/>.</summary>
    public async Task WriteAsync(string resultsFile)
    {
        _fields["loadAverageAfter"] = SystemReadings.LoadAverage();
        var json = JsonSerializer.Serialize(_fields, JsonLine);
        Console.WriteLine();
        Console.Write(_summary.ToString());
        Console.WriteLine($"  load average before {_fields["loadAverageBefore"]}, after {_fields["loadAverageAfter"]}");
        Console.WriteLine(json);
        var directory = Path.GetDirectoryName(Path.GetFullPath(resultsFile));
        if (directory is not null)
        {
            Directory.CreateDirectory(directory);
        }

        await File.AppendAllTextAsync(resultsFile, json + Environment.NewLine);
    }
}
