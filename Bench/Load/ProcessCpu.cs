using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// This process's CPU time and resident memory from <c>/proc/self</c>: the generator shares the 2 cores with the servers,
/// so every figure is reported beside what the generator itself used.
/// </summary>
public static class ProcessCpu
{
    /// <summary>Kernel clock ticks per second (USER_HZ); 100 on every Linux this runs on.</summary>
    private const double ClockTicksPerSecond = 100;

    /// <summary>User plus system CPU seconds of this process so far; 0 where /proc is missing.</summary>
    public static double CpuSeconds()
    {
        const string path = "/proc/self/stat";
        if (!File.Exists(path))
        {
            return 0;
        }

        return CpuTicks(File.ReadAllText(path)) / ClockTicksPerSecond;
    }

    /// <summary>
    /// User plus system CPU seconds so far of every process on this machine with this command name (e.g. <c>postgres</c>:
    /// the server and all its backends), and how many there are; 0 where /proc is missing. A process that exits between
    /// two readings takes its seconds with it, so a difference of two readings can only miss CPU, never invent it.
    /// </summary>
    public static (double CpuSeconds, int Processes) CpuSecondsOfProcessesNamed(string command)
    {
        if (!Directory.Exists("/proc"))
        {
            return (0, 0);
        }

        long ticks = 0;
        var processes = 0;
        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!char.IsAsciiDigit(Path.GetFileName(directory)[0]))
            {
                continue;
            }

            string stat;
            try
            {
                stat = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // Boundary: the process exited while we looked.
            }

            var open = stat.IndexOf('(', StringComparison.Ordinal);
            var close = stat.LastIndexOf(')');
            if (open < 0 || close < open || !stat.AsSpan(open + 1, close - open - 1).SequenceEqual(command))
            {
                continue;
            }

            ticks += CpuTicks(stat);
            processes++;
        }

        return (ticks / ClockTicksPerSecond, processes);
    }

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

    /// <summary>User plus system clock ticks from a <c>/proc/&lt;pid&gt;/stat</c> line.</summary>
    private static long CpuTicks(string stat)
    {
        // The command name (field 2) may contain spaces; the fields after its closing parenthesis are fixed.
        var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
        // After ")": state is field 3, so utime (14) and stime (15) are at 11 and 12 here.
        return long.Parse(fields[11], CultureInfo.InvariantCulture) + long.Parse(fields[12], CultureInfo.InvariantCulture);
    }

    /// <summary>The 1, 5 and 15 minute load averages as text, e.g. "1.20 0.90 0.70".</summary>
    public static string LoadAverage() =>
        File.Exists("/proc/loadavg") ? string.Join(' ', File.ReadAllText("/proc/loadavg").Split(' ').Take(3)) : "n/a";
}
