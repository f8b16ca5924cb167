using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Microsoft.Extensions.Hosting;
using Orleans.Configuration;
using Orleans.Im.Hosting;
using Orleans.Im.Robots.Runtime;
using Orleans.Im.Robots.SignIn;
using Orleans.Im.Streams;
using StackExchange.Redis;

namespace Orleans.Im.Robots.Hosting;

/// <summary>Turns a .NET generic host into a robot: the Orleans cluster client, sign-in, and the message loop.</summary>
public static class RobotHosting
{
    /// <summary>
    /// Registers a robot whose behaviour is <typeparamref name="THandler"/> (a singleton). The cluster client connects
    /// the way edge hosts do: Redis clustering (<c>IM:Redis:ConnectionString</c>), cluster and service id from the
    /// <c>IM</c> section, the <c>im</c> memory stream provider for the robot's user stream, and retries until the
    /// cluster is reachable. The robot's own settings come from <c>IM:Robot</c> (see <see cref="RobotOptions"/>), then
    /// <paramref name="configure"/>.
    /// </summary>
    /// <example>
    /// <code>
    /// var builder = Host.CreateApplicationBuilder(args);
    /// builder.AddImRobot&lt;EchoHandler&gt;(o =&gt; o.RobotId = "echo-bot");
    /// await builder.Build().RunAsync();
    /// </code>
    /// </example>
    public static IHostApplicationBuilder AddImRobot<THandler>(this IHostApplicationBuilder builder, Action<RobotOptions>? configure = null)
        where THandler : class, IRobotHandler
    {
        ArgumentNullException.ThrowIfNull(builder);
        builder.Services.AddSingleton<IRobotHandler, THandler>();
        return builder.AddImRobotCore(configure);
    }

    /// <summary>Registers a robot whose behaviour is the given handler instance (see <see cref="AddImRobot{THandler}"/>).</summary>
    public static IHostApplicationBuilder AddImRobot(this IHostApplicationBuilder builder, IRobotHandler handler, Action<RobotOptions>? configure = null)
    {
        ArgumentNullException.ThrowIfNull(builder);
        ArgumentNullException.ThrowIfNull(handler);
        builder.Services.AddSingleton(handler);
        return builder.AddImRobotCore(configure);
    }

    private static IHostApplicationBuilder AddImRobotCore(this IHostApplicationBuilder builder, Action<RobotOptions>? configure)
    {
        var configuration = builder.Configuration;
        var redis = configuration["IM:Redis:ConnectionString"] is { Length: > 0 } value
            ? value
            : throw new InvalidOperationException("Configuration 'IM:Redis:ConnectionString' is missing (environment variable 'IM__Redis__ConnectionString').");

        // Checked at start (after the caller's own settings): a robot with a value out of bounds does not start.
        var options = builder.Services.AddValidatedOptions<RobotOptions>(configuration, RobotOptions.Section);
        if (configure is not null)
        {
            options.Configure(configure);
        }

        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<RobotSignIn>();
        builder.Services.AddSingleton<SenderKinds>();
        builder.UseOrleansClient(client =>
        {
            client.Configure<ClusterOptions>(configuration.GetSection("IM"));
            client.UseRedisClustering(o => o.ConfigurationOptions = ConfigurationOptions.Parse(redis));
            client.AddMemoryStreams(StreamNames.Provider);
        });
        builder.Services.AddSingleton<IClientConnectionRetryFilter, ClusterConnectionRetryFilter>();

        // After the cluster client: hosted services start in order (the runner starts once connected) and stop in
        // reverse (the runner goes offline while the client still works).
        builder.Services.AddHostedService<RobotRunner>();
        return builder;
    }
}
