using System.Diagnostics;
using System.Diagnostics.Tracing;
using Microsoft.Diagnostics.NETCore.Client;
using Microsoft.Diagnostics.Tracing;
using Microsoft.Diagnostics.Tracing.Parsers;
using Microsoft.Diagnostics.Tracing.Parsers.Clr;

namespace Orleans.Im.Bench.Heap;

/// <summary>
/// Makes a running process collect all generations, blocking, from outside, the way <c>dotnet-gcdump</c> does: an
/// EventPipe session that enables the runtime provider's GCHeapCollect keyword makes the runtime induce a full GC. The
/// GC keyword on the same session reports its start and end, so the end of that collection is awaited, not guessed.
/// </summary>
public static class InducedGc
{
    private const string RuntimeProvider = "Microsoft-Windows-DotNETRuntime";

    /// <summary>After this, the dump is taken anyway (with whatever garbage the heap still holds) and the result says so.</summary>
    private static readonly TimeSpan StreamDrain = TimeSpan.FromSeconds(5);

    /// <summary>Requests the collection and waits at most <paramref name="timeout"/> for its end.</summary>
    public static async Task<InducedGcResult> RunAsync(DiagnosticsClient client, TimeSpan timeout, CancellationToken cancellationToken)
    {
        ArgumentNullException.ThrowIfNull(client);
        var stopwatch = Stopwatch.StartNew();
        var provider = new EventPipeProvider(RuntimeProvider, EventLevel.Informational,
            (long)(ClrTraceEventParser.Keywords.GC | ClrTraceEventParser.Keywords.GCHeapCollect));
        using var session = await client.StartEventPipeSessionAsync([provider], requestRundown: false, circularBufferMB: 16, cancellationToken);
        var ended = new TaskCompletionSource<long>(TaskCreationOptions.RunContinuationsAsynchronously);
        long inducedGc = -1;
        using var source = new EventPipeEventSource(session.EventStream);
        source.Clr.GCStart += e =>
        {
            // Other GCs may run meanwhile; only the induced gen2 one is ours.
            if (e.Reason == GCReason.Induced && e.Depth == 2)
            {
                Interlocked.Exchange(ref inducedGc, e.Count);
            }
        };
        source.Clr.GCStop += e =>
        {
            if (e.Count == Interlocked.Read(ref inducedGc))
            {
                ended.TrySetResult(e.Count);
            }
        };
        var processing = Task.Run(() =>
        {
            try
            {
                source.Process();
                return null;
            }
            catch (Exception ex) when (ex is IOException or InvalidOperationException or FormatException or EndOfStreamException)
            {
                return ex.Message;
            }
        }, cancellationToken);

        await Task.WhenAny(ended.Task, processing, Task.Delay(timeout, cancellationToken));
        var seconds = stopwatch.Elapsed.TotalSeconds;
        // Stopping ends the event stream, which lets Process return.
        session.Stop();
        string? processError;
        try
        {
            processError = await processing.WaitAsync(StreamDrain, cancellationToken);
        }
        catch (TimeoutException)
        {
            processError = "the event stream did not end after the session was stopped";
        }

        return ended.Task.IsCompletedSuccessfully
            ? new InducedGcResult(true, ended.Task.Result, seconds, null)
            : new InducedGcResult(false, -1, seconds, processError ?? $"no end of an induced gen2 GC within {timeout.TotalSeconds:0} s");
    }
}
