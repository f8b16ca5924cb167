using Microsoft.AspNetCore.Http.Connections;
using Microsoft.AspNetCore.Http.Connections.Features;
using Microsoft.AspNetCore.SignalR;
using Orleans.Im.EdgeHost.Metrics;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>Which SignalR transport a hub connection uses, as the metrics' <c>transport</c> label.</summary>
public static class HubTransport
{
    public static string Of(HubCallerContext context)
    {
        ArgumentNullException.ThrowIfNull(context);
        return context.Features.Get<IHttpTransportFeature>()?.TransportType switch
        {
            HttpTransportType.ServerSentEvents => EdgeMetrics.ServerSentEvents,
            HttpTransportType.LongPolling => EdgeMetrics.LongPolling,
            _ => EdgeMetrics.WebSockets,
        };
    }
}
