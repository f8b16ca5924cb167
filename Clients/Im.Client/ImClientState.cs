namespace Orleans.Im.Client;

/// <summary>What a client has seen: the last completed sync version and the last seq delivered per conversation.</summary>
public sealed record ImClientState(long SyncVersion, IReadOnlyDictionary<string, long> DeliveredSeqs);
