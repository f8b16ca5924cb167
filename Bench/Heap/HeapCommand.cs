using System.Diagnostics;
using System.Globalization;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Runtime;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Bench.Heap;

/// <summary>
/// <c>heap</c>: what a running .NET process holds on its managed heap, by type — to find what each TCP connection
/// costs the edge host. Induces a full blocking GC in the process (EventPipe, as <c>dotnet-gcdump</c> does), writes a
/// heap dump through the diagnostics IPC channel, walks it with ClrMD and counts objects and shallow bytes by type and
/// by generation. Objects are counted whether reachable or not (no root walk), so without the GC (<c>--gc off</c>, or
/// when it is not confirmed) garbage not yet collected is included. The process keeps running; the dump pauses it for
/// as long as writing takes.
/// <para>
/// The first EventPipe session in a process makes it build its event sources' metadata (~7,000 objects, ~0.6 MB,
/// e.g. <c>RuntimeParameterInfo</c>), after the GC; it stays, and the next run no longer adds it. On 2 loaded cores,
/// a 430 MB heap of 9.5 million objects took 0.8 s (GC) + 2.1 s (dump, 551 MB on disk) + 2.9 s (walk); the dump is
/// about the heap's committed size plus ~80 MB, in the temporary directory.
/// </para>
/// </summary>
public static class HeapCommand
{
    public const string OptionsHelp = """
        heap options:
          --pid P                   the .NET process to inspect (required); same user, same machine
          --top N                   types listed, largest by bytes first (30)
          --per N                   also show bytes and objects per N, e.g. N = connections the process holds
          --gc on|off               induce a full blocking GC first, so garbage is not counted (on)
          --keep-dump PATH          keep the heap dump here (default: a temporary file, deleted)
          --results PATH            JSON lines are appended here (.data/bench/results.jsonl)
        """;

    private static readonly string[] OwnOptions = ["pid", "top", "per", "gc", "keep-dump", "results"];

    /// <summary>How long to wait for the end of the induced GC; a full GC of a few GB takes seconds on a loaded machine.</summary>
    private static readonly TimeSpan GcTimeout = TimeSpan.FromSeconds(15);

    /// <summary>Past this the dump is given up: writing a few GB takes tens of seconds, not minutes.</summary>
    private static readonly TimeSpan DumpTimeout = TimeSpan.FromMinutes(5);

    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        HeapSettings settings;
        try
        {
            settings = Parse(CommandLineOptions.Parse(args, OwnOptions));
        }
        catch (ArgumentException ex)
        {
            await Console.Error.WriteLineAsync($"heap: {ex.Message}");
            await Console.Error.WriteLineAsync(OptionsHelp);
            return 2;
        }

        try
        {
            await RunAsync(settings);
            return 0;
        }
        catch (ServerNotAvailableException ex)
        {
            await Console.Error.WriteLineAsync($"heap: failed: pid {settings.Pid} has no diagnostics port to reach (not a .NET process, or another user or container): {ex.Message}");
            return 1;
        }
        catch (Exception ex) when (ex is DiagnosticsClientException or ClrDiagnosticsException or InvalidDataException or IOException
            or UnauthorizedAccessException or TimeoutException or OperationCanceledException or ArgumentException or InvalidOperationException)
        {
            await Console.Error.WriteLineAsync($"heap: failed: {ex.Message}");
            return 1;
        }
    }

    private static HeapSettings Parse(CommandLineOptions options)
    {
        var pid = options.GetInt("pid", 0, 1, int.MaxValue);
        if (pid == 0)
        {
            throw new ArgumentException("option '--pid' is required");
        }

        if (pid == Environment.ProcessId)
        {
            throw new ArgumentException("option '--pid' names this process; give another");
        }

        var gc = options.GetString("gc", "on");
        if (gc is not ("on" or "off"))
        {
            throw new ArgumentException($"option '--gc' must be on or off, not '{gc}'");
        }

        // The target process writes the dump, from its own working directory: the path must be absolute.
        var keep = options.GetString("keep-dump", "");
        return new HeapSettings(pid, options.GetInt("top", 30, 1, 100_000), options.GetInt("per", 0, 1, int.MaxValue),
            keep.Length == 0 ? null : Path.GetFullPath(keep), gc == "on", options.GetString("results", ".data/bench/results.jsonl"));
    }

    private static async Task RunAsync(HeapSettings settings)
    {
        var processName = ProcessName(settings.Pid);
        using var stop = new CancellationTokenSource(GcTimeout + DumpTimeout);
        var client = new DiagnosticsClient(settings.Pid);
        Console.WriteLine($"heap: pid {settings.Pid} ({processName}) …");

        InducedGcResult? gc = null;
        if (settings.ForceGc)
        {
            gc = await InducedGc.RunAsync(client, GcTimeout, stop.Token);
            Console.WriteLine(gc.Confirmed
                ? string.Create(CultureInfo.InvariantCulture, $"heap: induced full GC #{gc.GcNumber} ended after {gc.Seconds:0.00} s")
                : $"heap: induced full GC not confirmed ({gc.Error}); the census includes garbage not yet collected");
        }

        var dumpPath = settings.KeepDumpPath ?? Path.Combine(Path.GetTempPath(), $"bench-heap-{settings.Pid}-{Guid.NewGuid():N}.dmp");
        try
        {
            var dumpWatch = Stopwatch.StartNew();
            await client.WriteDumpAsync(DumpType.WithHeap, dumpPath, logDumpGeneration: false, stop.Token);
            var dumpSeconds = dumpWatch.Elapsed.TotalSeconds;
            var dumpBytes = new FileInfo(dumpPath).Length;
            Console.WriteLine(string.Create(CultureInfo.InvariantCulture, $"heap: dump of {dumpBytes / 1048576.0:0} MiB written in {dumpSeconds:0.0} s, walking …"));

            var walkWatch = Stopwatch.StartNew();
            var census = HeapWalker.Walk(dumpPath);
            var walkSeconds = walkWatch.Elapsed.TotalSeconds;
            var report = Report(settings, processName, gc, census);
            report.Set("dumpBytes", dumpBytes).Set("dumpSeconds", Math.Round(dumpSeconds, 2)).Set("walkSeconds", Math.Round(walkSeconds, 2))
                .Set("keptDump", settings.KeepDumpPath);
            report.Line(string.Create(CultureInfo.InvariantCulture,
                $"  dump {dumpBytes / 1048576.0:0} MiB in {dumpSeconds:0.0} s, walk {walkSeconds:0.0} s{(settings.KeepDumpPath is null ? "" : $", kept at {settings.KeepDumpPath}")}"));
            await report.WriteAsync(settings.ResultsFile);
        }
        finally
        {
            if (settings.KeepDumpPath is null && File.Exists(dumpPath))
            {
                File.Delete(dumpPath);
            }
        }
    }

    private static string ProcessName(int pid)
    {
        try
        {
            using var process = Process.GetProcessById(pid);
            return process.ProcessName;
        }
        catch (ArgumentException)
        {
            throw new ArgumentException($"no process with id {pid}");
        }
    }

    private static RunReport Report(HeapSettings settings, string processName, InducedGcResult? gc, HeapCensus census)
    {
        var per = settings.Per;
        var top = census.Types.Take(settings.Top).ToList();
        var report = new RunReport("heap").Set("pid", settings.Pid).Set("process", processName).Set("runtime", census.RuntimeVersion)
            .Set("serverGc", census.IsServerGc).Set("gcHeaps", census.SubHeaps)
            .Set("inducedGc", gc is null ? "off" : gc.Confirmed ? "confirmed" : "not confirmed")
            .Set("inducedGcNumber", gc?.Confirmed == true ? gc.GcNumber : null).Set("inducedGcSeconds", gc is null ? null : Math.Round(gc.Seconds, 2))
            .Set("objects", census.Objects).Set("bytes", census.Bytes).Set("freeObjects", census.FreeObjects).Set("freeBytes", census.FreeBytes)
            .Set("committedBytes", census.CommittedBytes).Set("types", census.Types.Count)
            .Set("per", per > 0 ? per : null).Set("bytesPer", per > 0 ? Math.Round((double)census.Bytes / per, 1) : null)
            .Set("generations", census.Generations)
            .Set("top", top.Select(t => new { type = t.Type, count = t.Count, bytes = t.Bytes }).ToList());

        var gcText = gc is null ? "no GC requested (garbage included)"
            : gc.Confirmed ? string.Create(CultureInfo.InvariantCulture, $"after induced full GC #{gc.GcNumber}") : "induced GC NOT confirmed (garbage may be included)";
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"heap: pid {settings.Pid} ({processName}), .NET {census.RuntimeVersion}, {(census.IsServerGc ? "server" : "workstation")} GC with {census.SubHeaps} heap(s), {gcText}"));
        var perText = per > 0 ? string.Create(CultureInfo.InvariantCulture, $"; per {per:N0}: {(double)census.Objects / per:0.0} objects, {(double)census.Bytes / per:N0} bytes") : "";
        report.Line(string.Create(CultureInfo.InvariantCulture,
            $"  {census.Objects:N0} objects, {census.Bytes:N0} bytes ({census.Bytes / 1048576.0:0.0} MiB) in {census.Types.Count:N0} types; free space {census.FreeBytes / 1048576.0:0.0} MiB; committed {census.CommittedBytes / 1048576.0:0.0} MiB{perText}"));
        report.Line("");
        var perHeader = per > 0 ? string.Create(CultureInfo.InvariantCulture, $" {"count/" + per,14} {"bytes/" + per,14}") : "";
        report.Line($"  {"generation",-20} {"objects",14} {"bytes",16} {"committed",16}");
        foreach (var g in census.Generations)
        {
            report.Line(string.Create(CultureInfo.InvariantCulture, $"  {g.Generation,-20} {g.Objects,14:N0} {g.Bytes,16:N0} {g.CommittedBytes,16:N0}"));
        }

        report.Line("");
        report.Line($"  {"bytes",16} {"count",12}{perHeader}  type (top {top.Count} of {census.Types.Count} by bytes, shallow size)");
        foreach (var t in top)
        {
            var perColumns = per > 0 ? string.Create(CultureInfo.InvariantCulture, $" {(double)t.Count / per,14:0.00} {(double)t.Bytes / per,14:0.0}") : "";
            report.Line(string.Create(CultureInfo.InvariantCulture, $"  {t.Bytes,16:N0} {t.Count,12:N0}{perColumns}  {t.Type}"));
        }

        var rest = census.Types.Skip(top.Count).ToList();
        if (rest.Count > 0)
        {
            var restPer = per > 0 ? string.Create(CultureInfo.InvariantCulture, $" {(double)rest.Sum(t => t.Count) / per,14:0.00} {(double)rest.Sum(t => t.Bytes) / per,14:0.0}") : "";
            report.Line(string.Create(CultureInfo.InvariantCulture, $"  {rest.Sum(t => t.Bytes),16:N0} {rest.Sum(t => t.Count),12:N0}{restPer}  ({rest.Count:N0} other types)"));
        }

        var totalPer = per > 0 ? string.Create(CultureInfo.InvariantCulture, $" {(double)census.Objects / per,14:0.00} {(double)census.Bytes / per,14:0.0}") : "";
        report.Line(string.Create(CultureInfo.InvariantCulture, $"  {census.Bytes,16:N0} {census.Objects,12:N0}{totalPer}  total"));
        return report;
    }
}
