using System.Runtime.InteropServices;

namespace Orleans.Im.EdgeHost.Drain;

/// <summary>
/// The host's lifetime on SIGTERM, SIGINT and SIGQUIT: drain first, stop after. The default console lifetime stops the
/// application at once, and stopping closes every SignalR connection before anything could redirect it; here the
/// signal starts <see cref="EdgeDrain"/> and the host stops when the drain is done. A second signal stops at once.
/// </summary>
public sealed class DrainingLifetime(EdgeDrain drain) : IHostLifetime, IDisposable
{
    private readonly List<PosixSignalRegistration> _signals = [];

    public Task WaitForStartAsync(CancellationToken cancellationToken)
    {
        foreach (var signal in new[] { PosixSignal.SIGTERM, PosixSignal.SIGINT, PosixSignal.SIGQUIT })
        {
            _signals.Add(PosixSignalRegistration.Create(signal, OnSignal));
        }

        return Task.CompletedTask;
    }

    public Task StopAsync(CancellationToken cancellationToken) => Task.CompletedTask;

    public void Dispose()
    {
        foreach (var signal in _signals)
        {
            signal.Dispose();
        }

        _signals.Clear();
    }

    private void OnSignal(PosixSignalContext context)
    {
        // Not the default action (terminate): the host exits by itself once drained.
        context.Cancel = true;
        _ = drain.OnStopSignalAsync();
    }
}
