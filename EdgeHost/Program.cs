using Orleans.Im.EdgeHost;

var builder = WebApplication.CreateBuilder(args);
builder.AddImEdge();

var app = builder.Build();
app.MapImEdge();
await app.RunAsync();
