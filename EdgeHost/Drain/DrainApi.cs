using Microsoft.Extensions.Options;
using Orleans.Im.EdgeHost.Api;

namespace Orleans.Im.EdgeHost.Drain;

/// <summary>
/// <c>POST /api/admin/edge/drain</c> (trusted systems): drains the edge host that answers and then stops it, as SIGTERM
/// does. Answers 202 at once; the host's <c>/readyz</c> turns 503 and it leaves <c>/api/edges</c> immediately.
/// </summary>
public static class DrainApi
{
    /// <summary>What the drain call answers.</summary>
    /// <param name="EdgeId">The edge host that is draining.</param>
    /// <param name="DevicesConnected">Devices it is redirecting.</param>
    /// <param name="Window">Over how long the redirects are spread.</param>
    public sealed record DrainStarted(string EdgeId, int DevicesConnected, TimeSpan Window);

    public static IEndpointRouteBuilder MapDrainApi(this IEndpointRouteBuilder app)
    {
        app.MapPost("/api/admin/edge/drain", (EdgeDrain drain, Sessions.SessionHub sessions, IOptions<EdgeOptions> options) =>
            {
                var edge = options.Value;
                var devices = sessions.OpenSessions;
                _ = drain.DrainThenStopAsync();
                return TypedResults.Accepted((string?)null, new DrainStarted(edge.EdgeId, devices, edge.DrainWindow));
            })
            .RequireAuthorization(ApiPolicies.TrustedSystem)
            .WithTags("Admin");
        return app;
    }
}
