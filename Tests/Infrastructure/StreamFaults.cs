using System.Collections.Concurrent;
using Orleans.Providers;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// Makes the in-memory stream queue refuse the events of chosen streams, as it does when its grain cannot be reached:
/// how a test sees what a publisher does with a broadcast that fails. A silo's incoming call filter; it lets every
/// other call through untouched.
/// </summary>
public sealed class StreamFaults : IIncomingGrainCallFilter
{
    private readonly ConcurrentDictionary<StreamId, int> _failing = new();

    /// <summary>Refuses the stream's events from now on, until <see cref="Heal"/>.</summary>
    public void Fail(StreamId stream) => _failing[stream] = 0;

    /// <summary>Events of the stream refused so far (while it fails).</summary>
    public int Refused(StreamId stream) => _failing.GetValueOrDefault(stream);

    /// <summary>Takes the stream's events again; the number refused meanwhile.</summary>
    public int Heal(StreamId stream) => _failing.TryRemove(stream, out var refused) ? refused : 0;

    public Task Invoke(IIncomingGrainCallContext context)
    {
        if (!_failing.IsEmpty
            && context.Request.GetArgumentCount() > 0
            && context.Request.GetArgument(0) is MemoryMessageData data
            && _failing.ContainsKey(data.StreamId))
        {
            _failing.AddOrUpdate(data.StreamId, 1, (_, refused) => refused + 1);
            return Task.FromException(new TimeoutException($"Test fault: the stream queue refuses events of {data.StreamId}."));
        }

        return context.Invoke();
    }
}
