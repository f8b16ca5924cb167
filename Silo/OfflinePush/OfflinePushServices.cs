using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Im.Hosting;
using Orleans.Im.Push;

namespace Orleans.Im.Silo.OfflinePush;

/// <summary>Registers offline push: the gateway client as the grains' <see cref="IOfflineNotifier"/>.</summary>
public static class OfflinePushServices
{
    /// <summary>Binds <c>IM:Push</c> and sends user grains' notifications to its gateway (none set: off).</summary>
    public static IServiceCollection AddImOfflinePush(this IServiceCollection services, IConfiguration configuration)
    {
        services.AddValidatedOptions<PushGatewayOptions>(configuration, PushGatewayOptions.Section)
            .Validate(o => string.IsNullOrEmpty(o.GatewayUrl)
                    || (Uri.TryCreate(o.GatewayUrl, UriKind.Absolute, out var url) && url.Scheme is "http" or "https" && !string.IsNullOrEmpty(o.Secret)),
                $"{PushGatewayOptions.Section}:GatewayUrl must be an absolute http(s) URL, and {PushGatewayOptions.Section}:Secret is required with it");
        services.AddSingleton<PushGatewayClient>();
        services.Replace(ServiceDescriptor.Singleton<IOfflineNotifier>(sp => sp.GetRequiredService<PushGatewayClient>()));
        // A participant in the silo's lifecycle, not a hosted service: see PushGatewayClient.Participate.
        services.AddSingleton<ILifecycleParticipant<ISiloLifecycle>>(sp => sp.GetRequiredService<PushGatewayClient>());
        // No redirects: the gateway answers where it is configured.
        services.AddHttpClient(PushGatewayClient.HttpClientName)
            .ConfigurePrimaryHttpMessageHandler(() => new SocketsHttpHandler { AllowAutoRedirect = false, PooledConnectionLifetime = TimeSpan.FromMinutes(5) });
        return services;
    }
}
