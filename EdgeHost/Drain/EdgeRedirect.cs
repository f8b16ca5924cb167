namespace Orleans.Im.EdgeHost.Drain;

/// <summary>Where a client of a draining edge host should go instead, best first, and why.</summary>
/// <param name="TcpAddresses">Other edge hosts' mobile-protocol addresses (<c>host:port</c>).</param>
/// <param name="WebSocketUrls">Other edge hosts' chat hub URLs.</param>
/// <param name="Reason">Shown to the user or logged by the client.</param>
public sealed record EdgeRedirect(IReadOnlyList<string> TcpAddresses, IReadOnlyList<string> WebSocketUrls, string Reason);
