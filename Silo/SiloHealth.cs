using Microsoft.AspNetCore.Http.HttpResults;

namespace Orleans.Im.Silo;

/// <summary><c>GET /healthz</c> on the silo: 200 only while this silo is an active member of the cluster.</summary>
public static class SiloHealth
{
    /// <summary>What the silo's <c>/healthz</c> answers.</summary>
    public sealed record SiloHealthReport(string Status, string Silo);

    public static IEndpointRouteBuilder MapSiloHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", Check);
        return app;
    }

    private static Results<Ok<SiloHealthReport>, JsonHttpResult<SiloHealthReport>> Check(ISiloStatusOracle oracle)
    {
        var status = oracle.CurrentStatus;
        var report = new SiloHealthReport(status.ToString(), oracle.SiloAddress.ToString());
        return status == SiloStatus.Active
            ? TypedResults.Ok(report)
            : TypedResults.Json(report, statusCode: StatusCodes.Status503ServiceUnavailable);
    }
}
