namespace Orleans.Im.Bench.Load;

/// <summary>How the load's users connect.</summary>
public enum Transport
{
    /// <summary>The mobile protocol (protobuf frames over TCP) through the SDK.</summary>
    Tcp,

    /// <summary>The SignalR chat hub over WebSockets, JSON protocol.</summary>
    SignalR,

    /// <summary>The mobile protocol through the generator's own lean client (<see cref="LeanTcpBenchUser"/>).</summary>
    TcpLean,
}
