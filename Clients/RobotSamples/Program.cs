using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Orleans.Im.Hosting;
using Orleans.Im.RobotSamples;
using Orleans.Im.RobotSamples.Echo;
using Orleans.Im.RobotSamples.Faq;
using Orleans.Im.RobotSamples.Shop;
using Orleans.Im.Robots.Hosting;

// The sample robots (README "Robots"): each an Orleans client of the cluster, signed in as its robot account.
var arguments = SampleArguments.Parse(args, out var error);
if (arguments is null)
{
    Console.Error.WriteLine(error);
    Console.Error.WriteLine(SampleArguments.Usage);
    return 2;
}

// appsettings.json is read from beside the program, wherever it is started from.
var builder = Host.CreateApplicationBuilder(new HostApplicationBuilderSettings { Args = [], ContentRootPath = AppContext.BaseDirectory });
builder.Services.Configure<HostOptions>(o => o.ShutdownTimeout = TimeSpan.FromSeconds(30));
using var loggers = LoggerFactory.Create(logging => logging.AddConsole());
FaqSource? faq = null;
if (arguments.File is not null)
{
    faq = FaqSource.Open(arguments.File, loggers.CreateLogger<FaqSource>(), out var faqError);
    if (faq is null)
    {
        Console.Error.WriteLine($"cannot load {arguments.File}: {faqError}");
        return 2;
    }
}

using (faq)
{
    Orleans.Im.Robots.IRobotHandler handler = arguments.Command switch
    {
        "echo-bot" => new EchoRobot(),
        "faq" => new FaqRobot(faq!),
        _ => new ShopAutoReplyRobot(arguments.Shop!, faq),
    };
    builder.AddImRobot(handler, o =>
    {
        o.RobotId = arguments.DefaultRobotId;
        o.Secret = arguments.Secret ?? o.Secret;
    });
    if (await ValidatedOptions.BuildWithValidOptionsAsync(builder.Build, (_, reason) => Console.Error.WriteLine($"Cannot start: {reason}")) is not { } host)
    {
        return 1;
    }

    try
    {
        await host.RunAsync();
    }
    catch (OperationCanceledException)
    {
        // Stopped (Ctrl-C, SIGTERM) while still connecting to the cluster: a stop, not a crash.
    }
}

return Environment.ExitCode;
