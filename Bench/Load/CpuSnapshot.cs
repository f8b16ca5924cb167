namespace Orleans.Im.Bench.Load;

/// <summary>
/// The CPU counters of a set of processes at one instant (the generator and its children; every PostgreSQL process),
/// so that two snapshots give the set's CPU between them — including the processes that started or ended in between.
/// </summary>
/// <remarks>
/// Summing the members' own times and subtracting would lose the CPU of a process that ended in between (a PostgreSQL
/// backend whose connection closed; a generator child): its counters go with it. The kernel adds them to its parent's
/// reaped time when the parent waits for it, so the set's CPU between two snapshots is, per process: its own time
/// since the first (all of it, for a process started since), plus what it reaped since; less the time the ended
/// members had used before the first snapshot, which their parent's reaped time counts again.
/// </remarks>
public sealed class CpuSnapshot
{
    /// <summary>Kernel clock ticks per second (USER_HZ); 100 on every Linux this runs on.</summary>
    public const double ClockTicksPerSecond = 100;

    private readonly Dictionary<(int Pid, long Started), ProcessStat> _members;

    /// <summary>A snapshot of these processes' counters.</summary>
    public CpuSnapshot(IEnumerable<ProcessStat> members) => _members = members.ToDictionary(m => (m.Pid, m.StartTicks));

    /// <summary>The processes it holds.</summary>
    public IReadOnlyCollection<ProcessStat> Members => _members.Values;

    /// <summary>How many processes it holds.</summary>
    public int Count => _members.Count;

    /// <summary>Every process on this machine that <paramref name="member"/> selects; empty where /proc is missing.</summary>
    public static CpuSnapshot Take(Func<ProcessStat, bool> member)
    {
        ArgumentNullException.ThrowIfNull(member);
        return new CpuSnapshot(ReadAll().Where(member));
    }

    /// <summary>
    /// One reading of /proc split into several sets, one per selector: the sets are taken at the same instant, and the
    /// machine's processes are read once rather than once a set.
    /// </summary>
    public static CpuSnapshot[] TakeEach(IReadOnlyList<Func<ProcessStat, bool>> members)
    {
        ArgumentNullException.ThrowIfNull(members);
        var all = ReadAll().ToList();
        return [.. members.Select(member => new CpuSnapshot(all.Where(member)))];
    }

    /// <summary>The set's CPU seconds from <paramref name="earlier"/> to this snapshot; never negative.</summary>
    /// <remarks>
    /// Exact when every member that ended was waited for by a member still running (PostgreSQL's postmaster reaps its
    /// backends; the generator reaps its children). A member reaped by an outsider is missed, as before.
    /// </remarks>
    public double SecondsSince(CpuSnapshot earlier)
    {
        ArgumentNullException.ThrowIfNull(earlier);
        long ticks = 0;
        foreach (var (key, now) in _members)
        {
            var then = earlier._members.TryGetValue(key, out var found) ? found : now with { OwnTicks = 0, ReapedTicks = 0 };
            ticks += now.OwnTicks - then.OwnTicks + now.ReapedTicks - then.ReapedTicks;
        }

        foreach (var (key, then) in earlier._members)
        {
            if (!_members.ContainsKey(key))
            {
                ticks -= then.OwnTicks + then.ReapedTicks;
            }
        }

        return Math.Max(0, ticks) / ClockTicksPerSecond;
    }

    private static IEnumerable<ProcessStat> ReadAll()
    {
        if (!Directory.Exists("/proc"))
        {
            yield break;
        }

        foreach (var directory in Directory.EnumerateDirectories("/proc"))
        {
            if (!char.IsAsciiDigit(Path.GetFileName(directory)[0]))
            {
                continue;
            }

            string line;
            try
            {
                line = File.ReadAllText(Path.Combine(directory, "stat"));
            }
            catch (Exception ex) when (ex is IOException or UnauthorizedAccessException)
            {
                continue; // Boundary: the process exited while we looked.
            }

            if (ProcessStat.TryParse(line, out var stat))
            {
                yield return stat;
            }
        }
    }
}
