using Orleans.Im.Events;
using Orleans.Im.Firehose;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A firehose consumer group run in the background by a test: it keeps the events a filter picks (the streams are
/// shared by every test of the run), in the order they were handed over, and can be stopped and started again.
/// </summary>
public sealed class FirehoseRecorder : IAsyncDisposable
{
    private readonly IConnectionMultiplexer _redis;
    private readonly FirehoseConsumerOptions _options;
    private readonly Func<FirehoseEvent, bool> _keep;
    private readonly List<FirehoseEvent> _kept = [];
    private readonly Lock _gate = new();
    private CancellationTokenSource? _stop;
    private Task? _run;

    public FirehoseRecorder(IConnectionMultiplexer redis, FirehoseConsumerOptions options, Func<FirehoseEvent, bool> keep)
    {
        _redis = redis;
        _options = options;
        _keep = keep;
    }

    /// <summary>Optional: stop the consumer (gracefully) once this many events were kept.</summary>
    public int? StopAfter { get; set; }

    public IReadOnlyList<FirehoseEvent> Kept
    {
        get
        {
            lock (_gate)
            {
                return [.. _kept];
            }
        }
    }

    /// <summary>Creates the group (at the streams' ends, unless the options say otherwise) without reading.</summary>
    public Task CreateGroupAsync() => new FirehoseConsumer(_redis, _options).EnsureGroupAsync();

    public void Start()
    {
        _stop = new CancellationTokenSource();
        var stop = _stop;
        var consumer = new FirehoseConsumer(_redis, _options);
        _run = Task.Run(() => consumer.RunAsync((e, _) =>
        {
            if (_keep(e))
            {
                lock (_gate)
                {
                    _kept.Add(e);
                    if (_kept.Count == StopAfter)
                    {
                        stop.Cancel();
                    }
                }
            }

            return Task.CompletedTask;
        }, stop.Token));
    }

    /// <summary>Waits for the consumer to stop by itself (<see cref="StopAfter"/>), at most the patience given.</summary>
    public async Task WaitStoppedAsync(TimeSpan patience) => await _run!.WaitAsync(patience);

    public async Task StopAsync()
    {
        if (_run is null)
        {
            return;
        }

        await _stop!.CancelAsync();
        await _run;
        _run = null;
        _stop.Dispose();
    }

    /// <summary>Waits until the kept events satisfy <paramref name="done"/> (at most the patience), and returns them.</summary>
    public Task<IReadOnlyList<FirehoseEvent>> WaitForAsync(Func<IReadOnlyList<FirehoseEvent>, bool> done, TimeSpan? patience = null) =>
        Eventually.ReturnsAsync(() => Task.FromResult(Kept), done, patience ?? TimeSpan.FromSeconds(30));

    public async ValueTask DisposeAsync() => await StopAsync();
}
