using System.Diagnostics;
using System.Globalization;
using System.Text;
using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.EdgeHost.Tcp;

namespace Orleans.Im.EdgeHost.Metrics;

/// <summary><c>GET /metrics</c>: the edge host's gauges in the Prometheus text format.</summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        app.MapGet("/metrics", (TcpConnectionHandler tcp, SessionHub sessions, UserStreamSubscriptions subscriptions) =>
        {
            using var process = Process.GetCurrentProcess();
            var text = new StringBuilder();
            Gauge(text, "im_edge_tcp_connections", "Open TCP (mobile protocol) connections.", tcp.Connections);
            Gauge(text, "im_edge_sessions", "Signed-in device sessions on this edge host.", sessions.OpenSessions);
            Gauge(text, "im_edge_stream_users", "Users whose push stream this edge host subscribes to.", subscriptions.UserCount);
            Gauge(text, "process_working_set_bytes", "Resident memory of the edge host process.", process.WorkingSet64);
            Gauge(text, "dotnet_gc_heap_bytes", "Managed heap size after the last garbage collection.", GC.GetGCMemoryInfo().HeapSizeBytes);
            return TypedResults.Text(text.ToString(), "text/plain; version=0.0.4");
        }).ExcludeFromDescription();
        return app;
    }

    private static void Gauge(StringBuilder text, string name, string help, long value) =>
        text.Append(CultureInfo.InvariantCulture, $"# HELP {name} {help}\n# TYPE {name} gauge\n{name} {value}\n");
}
