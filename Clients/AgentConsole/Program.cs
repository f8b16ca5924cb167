using Orleans.Im.AgentConsole;
using Orleans.Im.Client;
using Spectre.Console;

// The customer-service agent console: sign in over HTTP, then everything over the TCP protocol (docs/CUSTOMER-SERVICE.md).
var options = ConsoleOptions.Parse(args, out var optionsError);
if (options is null)
{
    Console.Error.WriteLine($"{optionsError}{Environment.NewLine}{ConsoleOptions.Usage}");
    return 2;
}

options.User ??= AnsiConsole.Ask<string>("Agent id:");
options.Password ??= AnsiConsole.Prompt(new TextPrompt<string>("Password:").Secret());
options.Shop ??= AnsiConsole.Ask<string>("Shop id:");

using var http = new HttpClient { BaseAddress = options.Http };
using var signIn = new SignIn(http, options.User, options.Password, options.DeviceId);
try
{
    await signIn.GetTokenAsync(CancellationToken.None);
}
catch (Exception ex) when (ex is ImAuthException or HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
{
    AnsiConsole.MarkupLine($"[red]Cannot sign in:[/] {ConsoleText.Markup(ex.Message)}");
    return 1;
}

await using var client = new ImClient(new ImClientOptions
{
    Host = options.TcpHost,
    Port = options.TcpPort,
    TokenProvider = signIn.GetTokenAsync,
    TokenRefused = signIn.TokenRefusedAsync,
    DeviceId = options.DeviceId,
    Platform = "console",
});
try
{
    await client.ConnectAsync();
}
catch (Exception ex) when (ex is not OutOfMemoryException)
{
    // The edge is not there, refused the token, or the token could not be renewed: said plainly, not as a stack trace.
    AnsiConsole.MarkupLine($"[red]Cannot connect to {ConsoleText.Markup($"{options.TcpHost}:{options.TcpPort}")}:[/] {ConsoleText.Markup(ex.Message)}");
    return 1;
}

var state = new ConsoleState(options.User, options.Shop);
try
{
    await client.GetAgentViewAsync(options.Shop);
}
catch (ImClientException ex)
{
    AnsiConsole.MarkupLine($"[red]{ConsoleText.Markup(options.User)} is not an agent of {ConsoleText.Markup(options.Shop)}:[/] {ConsoleText.Markup(ex.Error?.Message ?? ex.Message)}");
    return 1;
}

AnsiConsole.Clear();
using var app = new AgentApp(client, state, options) { UsePassword = signIn.UsePassword };
await app.RunAsync();

// Logging out is best effort: a connection that is down or stuck must not keep the agent from quitting.
await Task.WhenAny(client.DisposeAsync().AsTask(), Task.Delay(options.QuitTimeout));
return 0;
