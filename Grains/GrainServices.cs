using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Im.Push;

namespace Orleans.Im;

/// <summary>Registers what the grains need besides storage: the product clock and the push seam.</summary>
public static class GrainServices
{
    public static IServiceCollection AddImGrains(this IServiceCollection services)
    {
        services.TryAddSingleton<ImClock>();
        services.TryAddSingleton<EdgePushOutbox>();
        services.TryAddSingleton<IUserEventPublisher, UserEventPublisher>();
        services.TryAddSingleton<IOfflineNotifier, NoOfflineNotifier>();
        return services;
    }
}
