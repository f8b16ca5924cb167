using System.Collections.Concurrent;
using Orleans.Im.Push;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Streams;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>
/// A connected device as an edge host would hold it: registered with the user grain and subscribed to the user's
/// stream, recording every pushed event.
/// </summary>
public sealed class DeviceProbe : IAsyncDisposable
{
    private readonly ConcurrentQueue<UserEvent> _events = new();
    private readonly SemaphoreSlim _arrived = new(0);
    private readonly IClusterClient _client;
    private StreamSubscriptionHandle<UserEventBatch>? _subscription;
    private int _disposed;

    private DeviceProbe(IClusterClient client, string userId, string deviceId)
    {
        _client = client;
        UserId = userId;
        DeviceId = deviceId;
    }

    public string UserId { get; }

    public string DeviceId { get; }

    public string ConnectionId { get; } = Guid.NewGuid().ToString("N");

    public IReadOnlyCollection<UserEvent> Events => _events;

    public static async Task<DeviceProbe> ConnectAsync(IClusterClient client, string userId, string deviceId = "phone")
    {
        var probe = new DeviceProbe(client, userId, deviceId);
        var stream = client.GetStreamProvider(StreamNames.Provider)
            .GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, userId));
        probe._subscription = await stream.SubscribeAsync((batch, _) =>
        {
            foreach (var userEvent in batch.Events)
            {
                probe._events.Enqueue(userEvent);
                probe._arrived.Release();
            }

            return Task.CompletedTask;
        });
        await client.GetGrain<IUserGrain>(userId).ConnectDeviceAsync(new DeviceSession(deviceId, "test", "test-edge", DateTimeOffset.UtcNow, probe.ConnectionId), null);
        return probe;
    }

    /// <summary>Waits until an event matching <paramref name="match"/> has arrived; fails the test after 10 s.</summary>
    public async Task<T> WaitForAsync<T>(Func<T, bool> match, TimeSpan? timeout = null)
        where T : UserEvent
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (_events.OfType<T>().FirstOrDefault(match) is { } found)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"{UserId}/{DeviceId}: no {typeof(T).Name} matching in time; got {_events.Count} events: {string.Join(", ", _events)}");
            }

            await _arrived.WaitAsync(left);
        }
    }

    /// <summary>Disconnects the device; a second call does nothing (a test may take a device offline before its end).</summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await _client.GetGrain<IUserGrain>(UserId).DisconnectDeviceAsync(DeviceId, ConnectionId);
        if (_subscription is not null)
        {
            await _subscription.UnsubscribeAsync();
        }

        _arrived.Dispose();
    }
}
