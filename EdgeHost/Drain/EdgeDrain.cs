using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Edges;

namespace Orleans.Im.EdgeHost.Drain;

/// <summary>
/// Takes this edge host out of service without losing anyone: it leaves the edge directory (so no client is offered
/// it), refuses new connections with a redirect, redirects its connected devices to the least-loaded other edges spread
/// over <see cref="EdgeOptions.DrainWindow"/> (so they do not stampede one edge), waits for them to leave (bounded by
/// <see cref="EdgeOptions.DrainTimeout"/>), and only then lets the host stop. Started by SIGTERM (see
/// <see cref="DrainingLifetime"/>), the admin call, or any other stop of the host.
/// </summary>
public sealed partial class EdgeDrain(
    IClusterClient cluster,
    SessionHub sessions,
    IHostApplicationLifetime lifetime,
    IOptions<EdgeOptions> options,
    TimeProvider time,
    ILogger<EdgeDrain> logger) : IHostedLifecycleService
{
    /// <summary>What clients are told.</summary>
    public const string Reason = "this edge host is shutting down; reconnect elsewhere";

    /// <summary>How stale the list of other edges may get while redirecting; their load changes as clients arrive.</summary>
    private static readonly TimeSpan CandidatesMaxAge = TimeSpan.FromSeconds(1);

    /// <summary>
    /// The longest a call to the edge directory may hold the drain: with silos that hang, a call waits out Orleans' response
    /// timeout (30 s), and the drain, bounded by its own timeout only between calls, would outrun the kubelet's grace.
    /// </summary>
    private static readonly TimeSpan DirectoryCallTimeout = TimeSpan.FromSeconds(2);

    /// <summary>How often the wait for clients to leave looks again.</summary>
    private static readonly TimeSpan LeaveCheckInterval = TimeSpan.FromMilliseconds(100);

    /// <summary>After the last connections are closed, how long their sessions get to end (unsubscribe, tell the user grains).</summary>
    private static readonly TimeSpan ClosingGrace = TimeSpan.FromSeconds(3);

    private readonly Lock _lock = new();
    private readonly TaskCompletionSource _candidatesKnown = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private Task? _drain;
    private IReadOnlyList<EdgeReport> _candidates = [];
    private long _candidatesAt;
    private int _redirects;
    private int _stopSignals;

    /// <summary>True from the moment a drain starts: the host is not ready and takes no new connections.</summary>
    public bool IsDraining => Volatile.Read(ref _drain) is not null;

    /// <summary>Starts draining (once; later calls return the same drain) and completes when it is done.</summary>
    public Task DrainAsync()
    {
        lock (_lock)
        {
            return _drain ??= Task.Run(RunAsync);
        }
    }

    /// <summary>
    /// Drains (or joins the drain under way), then stops the host: what the admin call does, so that a retried call, or
    /// the orchestrator's SIGTERM after an admin drain, neither restarts it nor cuts it short.
    /// </summary>
    public async Task DrainThenStopAsync()
    {
        try
        {
            await DrainAsync();
        }
        finally
        {
            lifetime.StopApplication();
        }
    }

    /// <summary>A stop signal (SIGTERM, SIGINT, SIGQUIT): the first drains, then stops; a second stops at once (an impatient operator).</summary>
    public Task OnStopSignalAsync()
    {
        if (Interlocked.Increment(ref _stopSignals) == 1)
        {
            return DrainThenStopAsync();
        }

        lifetime.StopApplication();
        return Task.CompletedTask;
    }

    /// <summary>Where a client that arrives while draining should go: each one gets the other edges in a rotated order.</summary>
    public async Task<EdgeRedirect> NextRedirectAsync()
    {
        // The first look at the directory takes a moment; a client arriving in it waits for the answer.
        await _candidatesKnown.Task;
        return NextRedirect();
    }

    private EdgeRedirect NextRedirect() => RedirectFor(Interlocked.Increment(ref _redirects));

    public Task StoppingAsync(CancellationToken cancellationToken) => DrainAsync().WaitAsync(cancellationToken);

    public Task StartingAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StartedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public Task StoppedAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    private async Task RunAsync()
    {
        var edge = options.Value;
        var started = time.GetTimestamp();
        var targets = sessions.Targets();
        try
        {
            await LeaveDirectoryAsync();
            await RefreshCandidatesAsync();
        }
        finally
        {
            _candidatesKnown.TrySetResult();
        }

        LogDraining(logger, edge.EdgeId, targets.Count, edge.DrainWindow, string.Join(", ", _candidates.Select(e => e.EdgeId)));

        // Spread over the window: device i goes at i/n of it.
        for (var i = 0; i < targets.Count; i++)
        {
            var wait = edge.DrainWindow * i / targets.Count - time.GetElapsedTime(started);
            if (wait > TimeSpan.Zero)
            {
                await Task.Delay(wait, time);
            }

            if (time.GetElapsedTime(Volatile.Read(ref _candidatesAt)) > CandidatesMaxAge)
            {
                await RefreshCandidatesAsync();
            }

            targets[i].Redirect(NextRedirect());
        }

        // A login that passed the draining check just before the drain began registers after the list above was taken:
        // sent on as soon as it shows, not at the stragglers' pass (which would also hold the exit until then).
        var redirected = new HashSet<IPushTarget>(targets, ReferenceEqualityComparer.Instance);
        var deadline = edge.DrainWindow + edge.DrainTimeout;
        // Logins still on their way count too: with none open, the drain ended at once, and one that then registered was
        // cut by the stop, without a redirect, after the host's shutdown timeout.
        while ((sessions.OpenSessions > 0 || sessions.LoginsInFlight + sessions.LoginsWaiting > 0) && time.GetElapsedTime(started) < deadline)
        {
            if (time.GetElapsedTime(Volatile.Read(ref _candidatesAt)) > CandidatesMaxAge)
            {
                // Late arrivals are sent where the directory says now: another edge may have started draining, or died.
                await RefreshCandidatesAsync();
            }

            foreach (var late in sessions.Targets())
            {
                if (redirected.Add(late))
                {
                    late.Redirect(NextRedirect());
                }
            }

            await Task.Delay(LeaveCheckInterval, time);
        }

        if (sessions.OpenSessions > 0)
        {
            // Those still here were redirected: their connections close after the redirect is written, or are cut when it is
            // not read in time (SignalRPushTarget.LastEventDeadline; a TCP writer's drain timeout), and a redirect told
            // again to them is ignored. Told here only to one that registered after the last pass; then a last wait,
            // rather than holding the stop.
            LogStragglers(logger, sessions.OpenSessions);
            foreach (var target in sessions.Targets())
            {
                target.Redirect(NextRedirect());
            }

            var closing = time.GetTimestamp();
            while (sessions.OpenSessions > 0 && time.GetElapsedTime(closing) < ClosingGrace)
            {
                await Task.Delay(LeaveCheckInterval, time);
            }
        }

        // The reporter may have announced this edge (as draining) since; leave for good.
        await LeaveDirectoryAsync();
        LogDrained(logger, edge.EdgeId, time.GetElapsedTime(started), sessions.OpenSessions);
    }

    private EdgeRedirect RedirectFor(int index)
    {
        var edges = Volatile.Read(ref _candidates);
        if (edges.Count == 0)
        {
            // Nowhere known to go: the client falls back to the addresses it was configured with.
            return new EdgeRedirect([], [], Reason);
        }

        var rotated = Enumerable.Range(0, edges.Count).Select(k => edges[(index + k) % edges.Count]).ToArray();
        var tcp = rotated.Where(e => e.TcpAddresses.Count > 0).Select(e => e.TcpAddresses[index % e.TcpAddresses.Count]).ToArray();
        var webSockets = rotated.Select(e => e.WebSocketUrl).ToArray();
        return new EdgeRedirect(tcp, webSockets, Reason);
    }

    private async Task RefreshCandidatesAsync()
    {
        try
        {
            var edges = await EdgeDirectory.GetLeastLoadedAsync(EdgesApi.Offered + 1).WaitAsync(DirectoryCallTimeout);
            Volatile.Write(ref _candidates, edges.Where(e => e.EdgeId != options.Value.EdgeId).Take(EdgesApi.Offered).ToArray());
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // Keep the last list: redirecting somewhere known beats holding the drain.
            LogDirectoryFailed(logger, ex.Message);
        }

        Volatile.Write(ref _candidatesAt, time.GetTimestamp());
    }

    private async Task LeaveDirectoryAsync()
    {
        try
        {
            await EdgeDirectory.RemoveAsync(options.Value.EdgeId).WaitAsync(DirectoryCallTimeout);
        }
        catch (Exception ex) when (ex is not OutOfMemoryException)
        {
            // The directory drops an edge that stops reporting anyway.
            LogDirectoryFailed(logger, ex.Message);
        }
    }

    private IEdgeDirectoryGrain EdgeDirectory => cluster.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey);

    [LoggerMessage(1, LogLevel.Warning, "Edge {EdgeId} draining: redirecting {Devices} devices over {Window} to [{Edges}]")]
    private static partial void LogDraining(ILogger logger, string edgeId, int devices, TimeSpan window, string edges);

    [LoggerMessage(2, LogLevel.Warning, "Draining: {Devices} devices did not leave in time; closing them")]
    private static partial void LogStragglers(ILogger logger, int devices);

    [LoggerMessage(3, LogLevel.Warning, "Edge {EdgeId} drained in {Elapsed}; {Left} devices left")]
    private static partial void LogDrained(ILogger logger, string edgeId, TimeSpan elapsed, int left);

    [LoggerMessage(4, LogLevel.Warning, "Draining: the edge directory did not answer: {Reason}")]
    private static partial void LogDirectoryFailed(ILogger logger, string reason);
}
