using Orleans.Im.EdgeHost;
using Orleans.Im.Hosting;

var builder = WebApplication.CreateBuilder(args);
builder.AddImEdge();

// Options first: a value out of bounds is one line naming its key, before the endpoints read them.
if (await ValidatedOptions.BuildWithValidOptionsAsync(builder.Build, (host, reason) => EdgeHosting.LogInvalidOptions(host.Logger, reason)) is not { } app)
{
    return 1;
}

app.MapImEdge();
await app.RunAsync();
return 0;
