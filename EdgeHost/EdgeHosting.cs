using System.Net;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.Authentication;
using Microsoft.AspNetCore.Connections;
using Microsoft.AspNetCore.HttpOverrides;
using Microsoft.AspNetCore.SignalR;
using Microsoft.Extensions.DependencyInjection.Extensions;
using Orleans.Configuration;
using Orleans.Im.EdgeHost.Api;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.EdgeHost.Tcp;
using Orleans.Im.Hosting;
using Orleans.Im.EdgeHost.Drain;
using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Health;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.EdgeHost.Internal;
using Orleans.Im.EdgeHost.Logging;
using Orleans.Im.EdgeHost.Memory;
using Orleans.Im.EdgeHost.Metrics;
using Orleans.Im.EdgeHost.Rooms;
using Orleans.Im.Metrics;
using Orleans.Im.Streams;
using StackExchange.Redis;

namespace Orleans.Im.EdgeHost;

/// <summary>All the wiring of an edge host, in one place.</summary>
public static class EdgeHosting
{
    /// <summary>
    /// The least time the chat hub waits for a quiet web client: twice the 15 s keep-alive of SignalR's browser client
    /// (and of the web page), as SignalR advises, whatever <see cref="EdgeOptions.IdleTimeout"/> is.
    /// </summary>
    public static readonly TimeSpan MinWebClientTimeout = TimeSpan.FromSeconds(30);

    /// <summary>Logs that the edge host cannot start because an option is out of bounds.</summary>
    public static void LogInvalidOptions(ILogger logger, string reason) => EdgeLog.InvalidOptions(logger, reason);

    /// <summary>
    /// The smallest limit on an HTTP request's body: room for the largest API request (a system message to 1,000 users
    /// of 64-character ids with 16 KiB of content) whatever the frame limit.
    /// </summary>
    private const int MinRequestBodyBytes = 256 * 1024;

    /// <summary>The CORS policy of the chat hub: <see cref="EdgeOptions.AllowedOrigins"/>.</summary>
    private const string HubCorsPolicy = "hub";

    /// <summary>Registers the edge host's services: the Orleans cluster client and its stream provider.</summary>
    public static WebApplicationBuilder AddImEdge(this WebApplicationBuilder builder)
    {
        var configuration = builder.Configuration;
        var edgeOptions = configuration.GetSection(EdgeOptions.Section).Get<EdgeOptions>() ?? new EdgeOptions();
        // Checked at start: a value out of bounds (a bare number is read as days) stops the host, naming the key.
        builder.Services.AddValidatedOptions<EdgeOptions>(configuration, EdgeOptions.Section, EdgeOptions.RetiredKeys);
        builder.Services.AddValidatedOptions<AuthOptions>(configuration, AuthOptions.Section);
        builder.WebHost.ConfigureKestrel(kestrel =>
        {
            // As the hub and TCP frames are bounded: an HTTP body is parsed whole before any check (a 28 MB password on
            // the anonymous login), and Kestrel's own default is 30 MB.
            kestrel.Limits.MaxRequestBodySize = Math.Max(edgeOptions.MaxFrameBytes, MinRequestBodyBytes);
            var http = new Uri(edgeOptions.HttpUrl);
            kestrel.Listen(ParseAddress(http.Host), http.Port);
            if (Uri.TryCreate(edgeOptions.InternalHttpUrl, UriKind.Absolute, out var internalHttp))
            {
                kestrel.Listen(ParseAddress(internalHttp.Host), internalHttp.Port);
            }

            foreach (var port in edgeOptions.EffectiveTcpPorts)
            {
                kestrel.Listen(ParseAddress(edgeOptions.TcpAddress), port, listen => listen.UseConnectionHandler<TcpConnectionHandler>());
            }
        });
        builder.Services.TryAddSingleton(TimeProvider.System);
        builder.Services.AddSingleton<AccessTokens>();
        builder.Services.AddSingleton<RefreshTokens>();
        builder.Services.AddSingleton<UserPushRoutes>();
        builder.Services.AddSingleton<RoomFanout>();
        builder.Services.AddSingleton<SessionHub>();
        builder.Services.AddSingleton<HubConnectionOwners>();
        builder.Services.AddSingleton<TcpConnectionHandler>();
        // The hub's negotiate (a POST with the token and SignalR's headers) is a cross-origin request a browser sends only
        // after a preflight: without CORS, a page of an allowed origin could open the hub only by skipping negotiation.
        // WebSocket upgrades are not covered by CORS: UseHubOriginCheck checks those.
        // With credentials: the JavaScript client's negotiate sends them by default (withCredentials), and a browser drops
        // an answer that does not allow them. Safe here: the origins are an explicit list, and sign-in is by bearer token,
        // never by cookie.
        builder.Services.AddCors(cors => cors.AddPolicy(HubCorsPolicy, policy => policy
            .WithOrigins([.. edgeOptions.AllowedOrigins])
            .WithMethods("GET", "POST")
            .WithHeaders("authorization", "content-type", "x-requested-with", "x-signalr-user-agent")
            .AllowCredentials()));
        builder.Services.AddSingleton<Health.ClusterReachability>();
        builder.Services.AddSingleton<ConnectionAdmission>();
        builder.Services.AddSingleton<PasswordHashing>();
        builder.Services.AddSingleton<UserSendRateLimiter>();
        builder.Services.AddSingleton<ConversationReferences>();
        builder.Services.AddSingleton<ConversationSendCoalescer>();
        builder.Services.AddSingleton<LoginRateLimiter>();
        builder.Services.AddSingleton<RevokedSessions>();
        builder.Services.AddSingleton<EdgeDrain>();
        builder.Logging.AddImConsole(configuration);
        builder.Services.AddSingleton<PrometheusExporter>();
        builder.Services.AddSingleton<ProcessMetrics>();
        builder.Services.AddSingleton<EdgeMetrics>();
        if (edgeOptions.RetainSocketBuffers)
        {
            // Registered after Kestrel's: the last registration is the one its transports are given.
            builder.Services.AddSingleton<IMemoryPoolFactory<byte>, RetainingBlockPoolFactory>();
        }

        // SIGTERM drains before the host stops; the host allows the drain its time (window, wait, and some slack).
        builder.Services.AddSingleton<IHostLifetime, DrainingLifetime>();
        builder.Services.Configure<HostOptions>(host =>
            host.ShutdownTimeout = edgeOptions.DrainWindow + edgeOptions.DrainTimeout + TimeSpan.FromSeconds(15));

        builder.Services.AddAuthentication(BearerTokenHandler.SchemeName)
            .AddScheme<AuthenticationSchemeOptions, BearerTokenHandler>(BearerTokenHandler.SchemeName, null)
            .AddScheme<AuthenticationSchemeOptions, ApiKeyHandler>(ApiKeyHandler.SchemeName, null);
        builder.Services.AddAuthorizationBuilder()
            .AddPolicy(ApiPolicies.User, policy => policy.AddAuthenticationSchemes(BearerTokenHandler.SchemeName).RequireAuthenticatedUser())
            .AddPolicy(ApiPolicies.TrustedSystem, policy => policy.AddAuthenticationSchemes(ApiKeyHandler.SchemeName).RequireRole("admin"));
        builder.Services.ConfigureHttpJsonOptions(json =>
            json.SerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        // Problem details the framework writes itself (a body that is not JSON, a query value of the wrong type, a wrong
        // content type, a body too large) carry a code too, as the README promises of every error.
        builder.Services.AddProblemDetails(problems => problems.CustomizeProblemDetails = context =>
            context.ProblemDetails.Extensions.TryAdd("code", ApiProblems.CodeOf(context.ProblemDetails.Status ?? context.HttpContext.Response.StatusCode)));
        builder.Services.AddExceptionHandler<ApiExceptionHandler>();
        builder.Services.Configure<ForwardedHeadersOptions>(forwarded =>
        {
            // Only the configured proxies are believed (loopback when none is): anyone else could name any address in
            // X-Forwarded-For and be counted under it. One hop: the address the nearest trusted proxy saw.
            forwarded.ForwardedHeaders = ForwardedHeaders.XForwardedFor | ForwardedHeaders.XForwardedProto;
            if (edgeOptions.TrustedProxies.Count > 0)
            {
                forwarded.KnownProxies.Clear();
                forwarded.KnownIPNetworks.Clear();
                foreach (var proxy in edgeOptions.TrustedProxies)
                {
                    if (EdgeOptions.TryParseProxy(proxy, out var network))
                    {
                        forwarded.KnownIPNetworks.Add(network);
                    }
                }
            }
        });
        builder.Services.AddUserRequestLimiter(edgeOptions);
        builder.Services.AddOpenApi();
        builder.Services.AddSignalR(hub =>
            {
                // Keep-alives from the server every 15 s; a client silent for the idle timeout is dropped (the TCP rule),
                // but never sooner than twice the web client's own keep-alive: browsers ping every 15 s, and a shorter
                // idle timeout (set for mobile clients, which ping as the edge tells them) would cut every quiet page.
                hub.KeepAliveInterval = TimeSpan.FromSeconds(15);
                hub.ClientTimeoutInterval = edgeOptions.WebClientTimeout;
                hub.MaximumReceiveMessageSize = edgeOptions.MaxFrameBytes;
                hub.AddFilter<ChatHubFilter>();
            })
            .AddJsonProtocol(json => json.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)))
            .AddMessagePackProtocol(messagePack => messagePack.SerializerOptions = HubMessagePack.Options);

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
        builder.Services.AddSingleton<DeviceReRegistration>();
        builder.Services.AddSingleton<IClusterConnectionStatusObserver>(sp => sp.GetRequiredService<DeviceReRegistration>());
        builder.Services.AddHostedService(sp => sp.GetRequiredService<DeviceReRegistration>());
        builder.Services.AddHostedService<DeviceLeaseRenewal>();
        builder.Services.AddHostedService<RoomLeaseRenewal>();

        // After the cluster client: hosted services start in order, so the revocation listener starts once connected.
        builder.Services.AddHostedService(sp => sp.GetRequiredService<RevokedSessions>());
        builder.Services.AddHostedService<EdgeReporter>();
        builder.Services.AddHostedService<LoginStormCompaction>();
        builder.Services.AddHostedService(sp => sp.GetRequiredService<EdgeDrain>());
        return builder;
    }

    private static IPAddress ParseAddress(string host) =>
        host == "localhost" ? IPAddress.Loopback : IPAddress.Parse(host);

    /// <summary>Maps the edge host's endpoints.</summary>
    public static WebApplication MapImEdge(this WebApplication app)
    {
        var edgeOptions = app.Services.GetRequiredService<IOptions<EdgeOptions>>().Value;
        // Before anything else answers: the internal endpoints do not exist on the public listener.
        app.UseInternalEndpoints(edgeOptions);
        // Next: everything after it (per-address login limits, logs) sees the client's address, not the balancer's.
        app.UseForwardedHeaders();
        app.UseExceptionHandler();
        // An error answered with no body (a body the JSON reader refused, a route that does not exist, a method or media
        // type not taken) gets problem details with its code (AddProblemDetails above), like every error of the API.
        app.UseStatusCodePages();
        app.UseDefaultFiles();
        app.UseStaticFiles();
        app.UseCors();
        app.UseDrainingHubRefusal();
        app.UseHubOriginCheck(edgeOptions);
        app.UseAuthentication();
        app.UseHubConnectionOwnerCheck();
        // After authentication: each user's requests are counted against their own budget.
        app.UseRateLimiter();
        app.UseAuthorization();
        app.UseRequestLogScope();
        app.MapHealthApi();
        app.MapMetricsApi();
        app.MapOpenApi();
        app.MapAuthApi();
        app.MapAccountApi();
        app.MapConversationsApi();
        app.MapGroupsApi();
        app.MapCustomerServiceApi();
        app.MapProfileApi();
        app.MapFriendsApi();
        app.MapDirectoryApi();
        app.MapEdgesApi();
        app.MapHub<ChatHub>(ChatHub.Path, hub => hub.Transports = edgeOptions.HubTransports).RequireCors(HubCorsPolicy);
        app.MapAdminApi();
        app.MapWebhooksApi();
        app.MapDrainApi();
        app.MapSystemApi();
        app.MapPublicAccountsApi();
        return app;
    }
}
