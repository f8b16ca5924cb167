using System.Globalization;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// One process's line of <c>/proc/&lt;pid&gt;/stat</c>, the fields CPU accounting needs. CPU is in kernel clock ticks.
/// </summary>
/// <param name="Pid">The process id.</param>
/// <param name="ParentPid">Its parent's id.</param>
/// <param name="Command">Its command name (at most 15 characters, as the kernel keeps it).</param>
/// <param name="OwnTicks">User plus system time the process itself used.</param>
/// <param name="ReapedTicks">
/// User plus system time of its children that exited and that it waited for: where the CPU of a process that ended goes.
/// </param>
/// <param name="StartTicks">When it started, in ticks since boot: a pid reused within a window is another process.</param>
public readonly record struct ProcessStat(int Pid, int ParentPid, string Command, long OwnTicks, long ReapedTicks, long StartTicks)
{
    /// <summary>Reads a stat line; false for text that is not one (a process that was exiting as it was read).</summary>
    public static bool TryParse(string line, out ProcessStat stat)
    {
        ArgumentNullException.ThrowIfNull(line);
        stat = default;
        var open = line.IndexOf('(', StringComparison.Ordinal);
        var close = line.LastIndexOf(')');
        if (open <= 0 || close < open || close + 2 > line.Length
            || !int.TryParse(line.AsSpan(0, open).Trim(), NumberStyles.None, CultureInfo.InvariantCulture, out var pid))
        {
            return false;
        }

        // The command (field 2) may hold spaces and parentheses; the fields after its last ")" are fixed. Counted from
        // there: state (field 3) is 0, ppid 1, utime 11, stime 12, cutime 13, cstime 14, starttime 19.
        var fields = line[(close + 2)..].Split(' ');
        if (fields.Length < 20
            || !int.TryParse(fields[1], NumberStyles.None, CultureInfo.InvariantCulture, out var parent)
            || !TryTicks(fields[11], out var user) || !TryTicks(fields[12], out var system)
            || !TryTicks(fields[13], out var childUser) || !TryTicks(fields[14], out var childSystem)
            || !TryTicks(fields[19], out var started))
        {
            return false;
        }

        stat = new ProcessStat(pid, parent, line[(open + 1)..close], user + system, childUser + childSystem, started);
        return true;
    }

    private static bool TryTicks(string field, out long ticks) =>
        long.TryParse(field, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out ticks);
}
