using Orleans.Im.Hosting;

namespace Orleans.Im.Silo;

/// <summary>Where this silo listens. Bound from the configuration section <c>IM:Silo</c> (environment: <c>IM__Silo__…</c>).</summary>
public sealed class SiloOptions
{
    public const string Section = "IM:Silo";

    /// <summary>
    /// Orleans' cluster membership options (<c>ClusterMembershipOptions</c>: <c>ProbeTimeout</c>, <c>NumMissedProbesLimit</c>,
    /// <c>TableRefreshTimeout</c>, …), bound from <c>IM:Silo:Membership</c>; unset values keep Orleans' defaults.
    /// </summary>
    public const string MembershipSection = "IM:Silo:Membership";

    /// <summary>
    /// The address other silos and clients use to reach this silo: an IP (in Kubernetes, the pod IP from the downward API)
    /// or a host name resolved at start (in compose, the container's own name).
    /// </summary>
    public string AdvertisedIPAddress { get; set; } = "127.0.0.1";

    /// <summary>Silo-to-silo port. A second silo on the same machine takes the next one.</summary>
    public int SiloPort { get; set; } = 11111;

    /// <summary>Client gateway port (edge hosts, robots). A second silo on the same machine takes the next one.</summary>
    public int GatewayPort { get; set; } = 30000;

    /// <summary>HTTP for the Orleans Dashboard and <c>/healthz</c>; loopback by default because the dashboard has no auth.</summary>
    public string HttpUrl { get; set; } = "http://127.0.0.1:8080";

    /// <summary>The silo's name in the membership table and the dashboard (in Kubernetes, the pod's); empty: Orleans picks one.</summary>
    public string Name { get; set; } = "";

    /// <summary>
    /// How long PostgreSQL may go unreached before <c>/readyz</c> fails (<see cref="DatabaseProbe"/>); <c>/healthz</c>,
    /// the liveness, never asks it: restarting silos does not bring a database back.
    /// </summary>
    [TimeSpanRange("00:00:01", "01:00:00")]
    public TimeSpan DatabaseGrace { get; set; } = TimeSpan.FromSeconds(20);

    /// <summary>Whether the Orleans Dashboard is served.</summary>
    public bool DashboardEnabled { get; set; } = true;

    /// <summary>
    /// Whether the dashboard is served to clients that are not on loopback. Off by default: it has no sign-in, shows the
    /// silos' live logs (user and conversation ids) and activates any grain it is asked about, and <see cref="HttpUrl"/>
    /// is also where Prometheus scrapes, so it is often reachable across a cluster. Operators reach it through loopback
    /// (<c>kubectl port-forward</c> ends inside the pod); turn this on only where the port itself is reachable by operators
    /// alone (Compose publishes it on the Docker host's loopback).
    /// </summary>
    public bool DashboardRemote { get; set; }
}
