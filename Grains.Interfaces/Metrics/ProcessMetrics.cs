using System.Diagnostics.Metrics;

namespace Orleans.Im.Metrics;

/// <summary>
/// The host process' own figures, on the meter <see cref="ImMeters.Process"/>: memory, the managed heap, CPU time,
/// garbage-collection pauses, open file descriptors against their limit (every connection is one), thread-pool backlog. Read at each scrape.
/// </summary>
public sealed class ProcessMetrics : IDisposable
{
    private const string FileDescriptorsDirectory = "/proc/self/fd";
    private const string LimitsFile = "/proc/self/limits";
    private readonly Meter _meter = new(ImMeters.Process);

    /// <summary>Creates the meter and its instruments.</summary>
    public ProcessMetrics()
    {
        _meter.CreateObservableGauge("process_working_set_bytes", () => Environment.WorkingSet, "By", "Resident memory of the process.");
        _meter.CreateObservableGauge("dotnet_gc_heap_bytes", () => GC.GetGCMemoryInfo().HeapSizeBytes, "By", "Managed heap size after the last garbage collection.");
        _meter.CreateObservableCounter("process_cpu_seconds_total", CpuSeconds, "s", "CPU time used by the process.");
        _meter.CreateObservableCounter("dotnet_gc_collections_total", () => new[]
        {
            new Measurement<long>(GC.CollectionCount(0), new KeyValuePair<string, object?>("generation", "0")),
            new Measurement<long>(GC.CollectionCount(1), new KeyValuePair<string, object?>("generation", "1")),
            new Measurement<long>(GC.CollectionCount(2), new KeyValuePair<string, object?>("generation", "2")),
        }, description: "Garbage collections by generation.");
        // Stalls of every request at once (a latency tail) are either the machine, storage, or this: read them side by side.
        _meter.CreateObservableCounter("dotnet_gc_pause_seconds_total", () => GC.GetTotalPauseDuration().TotalSeconds, "s",
            "Time the runtime paused every thread for garbage collection.");
        _meter.CreateObservableGauge("dotnet_threadpool_queue_length", () => ThreadPool.PendingWorkItemCount, description: "Work items waiting for a thread-pool thread.");
        _meter.CreateObservableGauge("dotnet_threadpool_threads", () => ThreadPool.ThreadCount, description: "Thread-pool threads.");
        if (Directory.Exists(FileDescriptorsDirectory))
        {
            _meter.CreateObservableGauge("process_open_fds", OpenFileDescriptors, description: "Open file descriptors (sockets included).");
            _meter.CreateObservableGauge("process_max_fds", MaxFileDescriptors, description: "The soft limit of open file descriptors.");
        }
    }

    /// <summary>Removes the instruments.</summary>
    public void Dispose() => _meter.Dispose();

    private static double CpuSeconds()
    {
        using var process = System.Diagnostics.Process.GetCurrentProcess();
        return process.TotalProcessorTime.TotalSeconds;
    }

    private static IEnumerable<Measurement<long>> OpenFileDescriptors()
    {
        long count;
        try
        {
            count = Directory.EnumerateFileSystemEntries(FileDescriptorsDirectory).LongCount();
        }
        catch (IOException)
        {
            yield break;
        }

        yield return new Measurement<long>(count);
    }

    private static IEnumerable<Measurement<long>> MaxFileDescriptors()
    {
        // "Max open files            20000                20000                files"
        string? line;
        try
        {
            line = File.ReadLines(LimitsFile).FirstOrDefault(l => l.StartsWith("Max open files", StringComparison.Ordinal));
        }
        catch (IOException)
        {
            yield break;
        }

        var fields = line?.Split(' ', StringSplitOptions.RemoveEmptyEntries);
        if (fields is { Length: > 3 } && long.TryParse(fields[3], System.Globalization.CultureInfo.InvariantCulture, out var soft))
        {
            yield return new Measurement<long>(soft);
        }
    }
}
