using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Streams;
using Orleans.Streams;

namespace Orleans.Im.Push;

/// <summary>
/// Publishes a user's events by the route of each device: one direct (one-way) call per edge that takes its pushes
/// through a push observer, and one item on the per-user Orleans stream (provider <c>im</c>, namespace <c>user</c>)
/// when any device takes them from the stream.
/// </summary>
public sealed class UserEventPublisher(IServiceProvider services) : IUserEventPublisher
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

        // One-way calls: they return at once and never fail here (an edge that died loses its hints; its devices
        // reconnect elsewhere and sync).
        _ = first?.PushAsync(batch);
        if (more is not null)
        {
            foreach (var edge in more)
            {
                _ = edge.PushAsync(batch);
            }
        }

        return viaStream
            ? _provider.Value.GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, batch.UserId)).OnNextAsync(batch)
            : Task.CompletedTask;
    }
}
