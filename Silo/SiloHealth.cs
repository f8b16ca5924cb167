using Microsoft.AspNetCore.Http.HttpResults;

namespace Orleans.Im.Silo;

/// <summary>
/// <c>GET /healthz</c> on the silo (liveness, startup): 200 only while this silo is an active member of the cluster.
/// <c>GET /readyz</c> (readiness): the same, and PostgreSQL reached within <see cref="SiloOptions.DatabaseGrace"/>
/// (<see cref="DatabaseProbe"/>): a silo that cannot reach it refuses every send to the conversations it hosts while
/// it stays a member, and only this says so. Not the liveness: restarting silos does not bring a database back.
/// </summary>
public static class SiloHealth
{
    /// <summary>What the silo's <c>/healthz</c> answers.</summary>
    public sealed record SiloHealthReport(string Status, string Silo);

    public static IEndpointRouteBuilder MapSiloHealth(this IEndpointRouteBuilder app)
    {
        app.MapGet("/healthz", Check);
        app.MapGet("/readyz", ReadyAsync);
        return app;
    }

    private static async Task<Results<Ok<SiloHealthReport>, JsonHttpResult<SiloHealthReport>>> ReadyAsync(
        ISiloStatusOracle oracle, DatabaseProbe database, CancellationToken cancellationToken)
    {
        var member = Check(oracle);
        if (member.Result is not Ok<SiloHealthReport> { Value: { } report })
        {
            return member;
        }

        return await database.UnreachableAsync(cancellationToken) is { } unreachable
            ? TypedResults.Json(report with { Status = unreachable }, statusCode: StatusCodes.Status503ServiceUnavailable)
            : member;
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
