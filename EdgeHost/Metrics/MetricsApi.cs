using Orleans.Im.Metrics;

namespace Orleans.Im.EdgeHost.Metrics;

/// <summary>
/// <c>GET /metrics</c>: every <c>Orleans.Im*</c> meter of this host (edge instruments, process figures) in the
/// Prometheus text format, written by the one <see cref="PrometheusExporter"/> of the process.
/// </summary>
public static class MetricsApi
{
    public static IEndpointRouteBuilder MapMetricsApi(this IEndpointRouteBuilder app)
    {
        // Resolved now, so the gauges exist (and listeners see counters) from the first connection, not the first scrape.
        app.ServiceProvider.GetRequiredService<EdgeMetrics>();
        app.ServiceProvider.GetRequiredService<ProcessMetrics>();
        // The exporter listens from now on: created at the first scrape, it would miss every count made before it.
        app.ServiceProvider.GetRequiredService<PrometheusExporter>();
        app.MapGet("/metrics", (PrometheusExporter exporter) => TypedResults.Text(exporter.Scrape(), PrometheusText.ContentType))
            .ExcludeFromDescription();
        return app;
    }
}
