using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Streams;
using Orleans.Im.Users;
using Orleans.Streams;

namespace Orleans.Im.Push;

/// <summary>
/// Publishes a user's events by the route of each device: the batch is queued once for each edge that takes its pushes
/// through a push observer (the <see cref="EdgePushOutbox"/> coalesces what all user grains of this silo push to one
/// edge into one-way calls), and goes as one item on the per-user Orleans stream (provider <c>im</c>, namespace
/// <c>user</c>) when any device takes them from the stream.
/// </summary>
public sealed class UserEventPublisher(IServiceProvider services, EdgePushOutbox outbox) : IUserEventPublisher
{
    private readonly Lazy<IStreamProvider> _provider = new(() => services.GetRequiredKeyedService<IStreamProvider>(StreamNames.Provider));

    public Task PublishAsync(UserEventBatch batch, IEnumerable<IEdgePushObserver?> routes)
    {
        ArgumentNullException.ThrowIfNull(batch);
        ArgumentNullException.ThrowIfNull(routes);
        var viaStream = false;
        IEdgePushObserver? first = null;
        List<IEdgePushObserver>? more = null;
        foreach (var route in routes)
        {
            if (route is null)
            {
                viaStream = true;
            }
            else if (first is null || first.Equals(route))
            {
                // Most users have all their devices on one edge: no list for them.
                first ??= route;
            }
            else if (more is null || !more.Contains(route))
            {
                (more ??= []).Add(route);
            }
        }

        // Queued for one-way calls: never waits and never fails here (an edge that died loses its hints; its devices
        // reconnect elsewhere and sync).
        if (first is not null)
        {
            outbox.Enqueue(first, batch);
        }

        if (more is not null)
        {
            foreach (var edge in more)
            {
                outbox.Enqueue(edge, batch);
            }
        }

        return viaStream
            ? _provider.Value.GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, batch.UserId)).OnNextAsync(batch)
            : Task.CompletedTask;
    }

    public void NoteRoute(DeviceSession device, IEdgePushObserver? route)
    {
        ArgumentNullException.ThrowIfNull(device);
        if (route is null)
        {
            return;
        }

        if (device.EdgeTakesPushInOrder)
        {
            outbox.TakesPushInOrder(route);
        }
        else if (device.EdgeTakesPushMany)
        {
            outbox.TakesPushMany(route);
        }
    }
}
