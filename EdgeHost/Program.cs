using Orleans.Im.EdgeHost;
using Orleans.Im.Hosting;

var builder = WebApplication.CreateBuilder(args);

// Options first: a value out of bounds, or one that cannot be read (the wiring reads some), is one line naming its key,
// before the endpoints read them.
if (await ValidatedOptions.BuildWithValidOptionsAsync(() => builder.AddImEdge().Build(), (host, reason) => EdgeHosting.LogInvalidOptions(host.Logger, reason)) is not { } app)
{
    return 1;
}

app.MapImEdge();
await app.RunAsync();
return 0;
