namespace Orleans.Im.Bench.Connect;

/// <summary>The <c>connect</c> options, as one process (parent or child shard) sees them.</summary>
public sealed record ConnectSettings(
    int Connections, int Rate, int HoldSeconds, int Processes, int SourceAddresses, TimeSpan HeartbeatInterval,
    string UserPrefix, int Shard, int Shards);
