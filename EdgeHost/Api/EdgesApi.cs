using Orleans.Im.Edges;

namespace Orleans.Im.EdgeHost.Api;

/// <summary>
/// <c>GET /api/edges</c>: the three least-loaded edge hosts (TCP addresses and WebSocket URL) for a client to choose from;
/// the client tries them and keeps the fastest. Open to anyone: clients ask before they sign in.
/// </summary>
public static class EdgesApi
{
    /// <summary>Edges offered to a client.</summary>
    public const int Offered = 3;

    public static IEndpointRouteBuilder MapEdgesApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/api/edges", async (IClusterClient cluster) =>
                TypedResults.Ok(await cluster.For<IEdgeDirectoryGrain>(IEdgeDirectoryGrain.DefaultKey).GetLeastLoadedAsync(Offered)))
            .AllowAnonymous().WithTags("Edges");
        return app;
    }
}
