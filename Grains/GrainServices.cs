using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Im.Edges;
using Orleans.Im.Push;

namespace Orleans.Im;

/// <summary>Registers what the grains need besides storage: the product clock, the push seam, and the watch for lost edge hosts.</summary>
public static class GrainServices
{
    public static IServiceCollection AddImGrains(this IServiceCollection services)
    {
        services.TryAddSingleton<ImClock>();
        services.TryAddSingleton<EdgePushOutbox>();
        services.TryAddSingleton<IUserEventPublisher, UserEventPublisher>();
        services.TryAddSingleton<IOfflineNotifier, NoOfflineNotifier>();
        services.TryAddSingleton<LocalEdgeDevices>();
        services.TryAddEnumerable(ServiceDescriptor.Singleton<IHostedService, LostEdgeSweeper>());
        return services;
    }
}
