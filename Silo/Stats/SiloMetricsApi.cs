using Orleans.Im.Metrics;

namespace Orleans.Im.Silo.Stats;

/// <summary>
/// <c>GET /metrics</c> on the silo's HTTP port: every <c>Orleans.Im*</c> meter of this process (group commits, the event
/// firehose, process figures) in the Prometheus text format. Grains themselves are on the Orleans Dashboard.
/// </summary>
public static class SiloMetricsApi
{
    public static IEndpointRouteBuilder MapSiloMetrics(this IEndpointRouteBuilder app)
    {
        // Resolved now, so the process gauges exist from the start.
        app.ServiceProvider.GetRequiredService<ProcessMetrics>();
        // The exporter listens from now on: created at the first scrape, it would miss every count made before it.
        app.ServiceProvider.GetRequiredService<PrometheusExporter>();
        app.MapGet("/metrics", (PrometheusExporter exporter) => TypedResults.Text(exporter.Scrape(), PrometheusText.ContentType));
        return app;
    }
}
