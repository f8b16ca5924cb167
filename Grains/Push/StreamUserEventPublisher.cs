using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Streams;
using Orleans.Streams;

namespace Orleans.Im.Push;

/// <summary>Publishes each user's events on the per-user Orleans stream (provider <c>im</c>, namespace <c>user</c>).</summary>
public sealed class StreamUserEventPublisher(IServiceProvider services) : IUserEventPublisher
{
    private readonly Lazy<IStreamProvider> _provider = new(() => services.GetRequiredKeyedService<IStreamProvider>(StreamNames.Provider));

    public Task PublishAsync(UserEventBatch batch)
    {
        ArgumentNullException.ThrowIfNull(batch);
        var stream = _provider.Value.GetStream<UserEventBatch>(StreamId.Create(StreamNames.UserNamespace, batch.UserId));
        return stream.OnNextAsync(batch);
    }
}
