using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// This process's resident memory and the machine's load from <c>/proc</c>: the generator shares the 2 cores with the
/// servers, so every figure is reported beside what the generator itself used (its CPU: <see cref="CpuSnapshot"/>).
/// </summary>
public static class SystemReadings
{
    /// <summary>Resident set size of this process in bytes; 0 where /proc is missing.</summary>
    public static long ResidentBytes()
    {
        const string path = "/proc/self/status";
        if (!File.Exists(path))
        {
            return 0;
        }

        foreach (var line in File.ReadLines(path))
        {
            if (line.StartsWith("VmRSS:", StringComparison.Ordinal))
            {
                var kilobytes = line["VmRSS:".Length..].Trim().Split(' ')[0];
                return long.Parse(kilobytes, CultureInfo.InvariantCulture) * 1024;
            }
        }

        return 0;
    }

    /// <summary>The 1, 5 and 15 minute load averages as text, e.g. "1.20 0.90 0.70".</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
