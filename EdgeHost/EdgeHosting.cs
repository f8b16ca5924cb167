using System.Net;
using Microsoft.AspNetCore.Connections;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.EdgeHost.Tcp;
using Orleans.Im.EdgeHost.Cluster;
using Orleans.Im.EdgeHost.Health;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.Streams;
using StackExchange.Redis;

namespace Orleans.Im.EdgeHost;

/// <summary>All the wiring of an edge host, in one place.</summary>
public static class EdgeHosting
{
    /// <summary>Registers the edge host's services: the Orleans cluster client and its stream provider.</summary>
    public static WebApplicationBuilder AddImEdge(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var edgeOptions = configuration.GetSection(EdgeOptions.Section).Get<EdgeOptions>() ?? new EdgeOptions();
        builder.Services.Configure<EdgeOptions>(configuration.GetSection(EdgeOptions.Section));
        builder.Services.Configure<AuthOptions>(configuration.GetSection(AuthOptions.Section));
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            var http = new Uri(edgeOptions.HttpUrl);
            kestrel.Listen(ParseAddress(http.Host), http.Port);
            foreach (var port in edgeOptions.EffectiveTcpPorts)
            {
                kestrel.Listen(ParseAddress(edgeOptions.TcpAddress), port, listen => listen.UseConnectionHandler<TcpConnectionHandler>());
            }
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AccessTokens>();
        builder.Services.AddSingleton<UserStreamSubscriptions>();
        builder.Services.AddSingleton<SessionHub>();
        builder.Services.AddSingleton<TcpConnectionHandler>();

        var redis = configuration["IM:Redis:ConnectionString"] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("Configuration 'IM:Redis:ConnectionString' is missing (environment variable 'IM__Redis__ConnectionString').");

        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(configuration.GetSection("IM"));
            client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            client.AddMemoryStreams(StreamNames.Provider);
        });
        builder.Services.AddSingleton<IClientConnectionRetryFilter, ClusterConnectionRetryFilter>();
        return builder;
    }

    private static IPAddress ParseAddress(string host) =>
        host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);

    /// <summary>Maps the edge host's endpoints.</summary>
    public static WebApplication MapImEdge(this WebApplication app)
    {
        app.MapHealthApi();
        app.MapMetricsApi();
        return app;
    }
}
