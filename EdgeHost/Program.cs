using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost;
using Orleans.Im.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddImEdge();

WebApplication app;
try
{
    app = builder.Build();
}
catch (OptionsValidationException ex)
{
    // Boundary: some options are read while the host is built (the cluster client's services), before its logging
    // exists: say which key is wrong in one line rather than an unhandled exception.
    await Console.Error.WriteLineAsync($"Cannot start: {ex.Message}");
    return 1;
}

// The rest of the options, before the endpoints read them.
if (!app.Services.TryValidateOptions(out var invalid))
{
    EdgeHosting.LogInvalidOptions(app.Logger, invalid);
    return 1;
}

app.MapImEdge();
await app.RunAsync();
return 0;
