using Npgsql;
using Orleans.Dashboard;
using Orleans.Im.Hosting;
using Orleans.Im.Silo;
using Orleans.Im.Silo.Events;
using Orleans.Im.Silo.Stats;

// An operator's command, not a silo: re-publish stored messages to the event firehose.
if (args is [EventReplay.CommandName, .. var replayArgs])
{
    return await EventReplay.RunAsync(replayArgs);
}

var builder = WebApplication.CreateBuilder(args);
if (!ValidatedOptions.TryRead<SiloOptions>(builder.Configuration, SiloOptions.Section, out var siloOptions, out var unreadable))
{
    // Boundary: no logging yet.
    await Console.Error.WriteLineAsync($"Cannot start: {unreadable}");
    return 1;
}

builder.WebHost.UseUrls(siloOptions.HttpUrl);

var dataSource = SiloHosting.CreateDataSource(builder.Configuration.GetRequiredSetting(SiloHosting.PostgresConnectionStringKey));
builder.Services.AddSingleton(dataSource);
builder.AddImSilo();

// Options first: a value out of bounds is named at once, not after the database has been waited for.
if (await ValidatedOptions.BuildWithValidOptionsAsync(builder.Build, (host, reason) => SiloHosting.LogInvalidOptions(host.Logger, reason)) is not { } app)
{
    return 1;
}

// The grain storage reads its SQL from the database when the silo starts, so the schema must exist first.
try
{
    await SiloHosting.MigrateDatabaseAsync(dataSource, app.Logger, TimeSpan.FromSeconds(60), app.Lifetime.ApplicationStopping);
}
catch (NpgsqlException ex)
{
    // Boundary: without its database a silo cannot serve; say why and exit with a failure status.
    SiloHosting.LogCannotStart(app.Logger, ex.Message);
    await app.DisposeAsync(); // flushes the console logger's queue: the line above is the reason the operator needs
    return 1;
}

// Likewise Redis: Orleans' membership start fails at once without it.
try
{
    await SiloHosting.WaitForRedisAsync(builder.Configuration.GetRequiredSetting("IM:Redis:ConnectionString"), app.Logger, TimeSpan.FromSeconds(60),
        app.Lifetime.ApplicationStopping);
}
catch (Exception ex) when (ex is StackExchange.Redis.RedisException or TimeoutException)
{
    // Boundary: without cluster membership a silo cannot join; say why and exit with a failure status.
    SiloHosting.LogCannotStartWithoutRedis(app.Logger, ex.Message);
    await app.DisposeAsync(); // flushes the console logger's queue, as above
    return 1;
}

app.MapSiloHealth();
app.MapSiloMetrics();
if (siloOptions.DashboardEnabled)
{
    if (!siloOptions.DashboardRemote)
    {
        // Runs after routing, before the endpoint: another pod that can scrape /metrics gets no dashboard.
        app.UseWhen(context => context.Request.Path.StartsWithSegments("/dashboard"), dashboard => dashboard.Use(
            (context, next) => context.Connection.RemoteIpAddress is { } remote && System.Net.IPAddress.IsLoopback(remote)
                ? next(context)
                : Results.NotFound().ExecuteAsync(context)));
    }

    app.MapOrleansDashboard(routePrefix: "/dashboard");
}

await app.RunAsync();
return 0;
