namespace Orleans.Im.EdgeHost;

/// <summary>Where the edge host listens. Bound from <c>IM:Edge</c> (environment: <c>IM__Edge__…</c>).</summary>
public sealed class EdgeOptions
{
    public const string Section = "IM:Edge";

    /// <summary>HTTP: the API, the SignalR hub, the web chat page, <c>/healthz</c> and <c>/metrics</c>.</summary>
    public string HttpUrl { get; set; } = "http://127.0.0.1:5080";

    /// <summary>The address the raw TCP (protobuf) listeners bind to.</summary>
    public string TcpAddress { get; set; } = "127.0.0.1";

    /// <summary>Ports of the raw TCP (protobuf) listeners; several ports spread connections over more source/port pairs.</summary>
    public List<int> TcpPorts { get; set; } = [5090];
}
