using Microsoft.AspNetCore.Http.HttpResults;
using Orleans.Im.EdgeHost.Auth;
using Orleans.Im.EdgeHost.Drain;

namespace Orleans.Im.EdgeHost.Health;

/// <summary>
/// <c>GET /livez</c> (liveness): 200 while the process answers HTTP at all, whatever the cluster does, also while it
/// drains. An edge cannot fix a cluster outage by restarting: restarted, it would only drop every connection it holds and
/// add a login storm to the outage. <c>GET /healthz</c> (health, startup): 200 when this edge host can reach the cluster
/// and hears session revocations, also while it drains. <c>GET /readyz</c> (readiness): the same, but 503 as soon as it
/// drains, so balancers stop sending it clients; a cluster that does not answer fails it only once no check has passed
/// for <see cref="ReadyGrace"/> (a failover or a silo's pause is not every edge leaving the balancer at once). The last
/// two wait up to <see cref="ProbeTimeout"/> for the cluster: a probe must allow more than that.
/// </summary>
public static class HealthApi
{
    /// <summary>The longest <c>/healthz</c> and <c>/readyz</c> wait for the cluster before they answer 503.</summary>
    public static readonly TimeSpan ProbeTimeout = TimeSpan.FromSeconds(3);

    /// <summary>How long after the last check that reached the cluster <c>/readyz</c> still answers 200.</summary>
    public static readonly TimeSpan ReadyGrace = TimeSpan.FromSeconds(10);

    public static IEndpointRouteBuilder MapHealthApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/livez", Alive).WithName("Live").ExcludeFromDescription();
        app.MapGet("/healthz", CheckAsync).WithName("Health").ExcludeFromDescription();
        app.MapGet("/readyz", ReadyAsync).WithName("Ready").ExcludeFromDescription();
        return app;
    }

    /// <summary>What <c>/healthz</c> answers.</summary>
    /// <param name="Status"><c>healthy</c> or <c>unavailable</c>.</param>
    /// <param name="Silos">Active silos seen through the cluster; 0 when unreachable.</param>
    /// <param name="Error">Why the cluster is unavailable, when it is.</param>
    public sealed record HealthReport(string Status, int Silos, string? Error);

    /// <summary>What <c>/livez</c> answers: that the process serves requests; nothing about the cluster.</summary>
    /// <param name="Status">Always <c>alive</c>.</param>
    /// <param name="Draining">Whether this edge host is draining (it answers until it exits).</param>
    public sealed record LivenessReport(string Status, bool Draining);

    internal static Ok<LivenessReport> Alive(EdgeDrain drain) => TypedResults.Ok(new LivenessReport("alive", drain.IsDraining));

    internal static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> ReadyAsync(IClusterClient client, RevokedSessions revocations, EdgeDrain drain, ClusterReachability reachability, TimeProvider time, CancellationToken cancellationToken)
    {
        if (drain.IsDraining)
        {
            return Unavailable("draining");
        }

        var checkedNow = await CheckAsync(client, revocations, reachability, time, cancellationToken);
        return checkedNow.Result is JsonHttpResult<HealthReport> { Value: { } failed } && revocations.IsListening
            && reachability.ReachedWithin(ReadyGrace, time)
            ? TypedResults.Ok(failed with { Status = "healthy" })
            : checkedNow;
    }

    internal static async Task<Results<Ok<HealthReport>, JsonHttpResult<HealthReport>>> CheckAsync(IClusterClient client, RevokedSessions revocations, ClusterReachability reachability, TimeProvider time, CancellationToken cancellationToken)
    {
        if (!revocations.IsListening)
        {
            return Unavailable("not yet listening to session revocations");
        }

        try
        {
            using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
            timeout.CancelAfter(ProbeTimeout);
            var hosts = await client.GetGrain<IManagementGrain>(0).GetHosts(onlyActive: true, timeout.Token);
            if (hosts.Count > 0)
            {
                reachability.Reached(time);
                return TypedResults.Ok(new HealthReport("healthy", hosts.Count, null));
            }

            return Unavailable("no active silo");
        }
        catch (Exception ex) when (ex is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
        {
            // Boundary: any failure to reach the cluster is reported, never thrown to the probe. By its kind only: the
            // message may name internal addresses, and these endpoints are public.
            return Unavailable("the cluster cannot be reached: " + ex.GetType().Name);
        }
    }

    private static JsonHttpResult<HealthReport> Unavailable(string error) =>
        TypedResults.Json(new HealthReport("unavailable", 0, error), statusCode: StatusCodes.Status503ServiceUnavailable);
}
