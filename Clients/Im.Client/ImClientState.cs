namespace Orleans.Im.Client;

/// <summary>What a client has seen: the last completed sync version and the last seq delivered per conversation.</summary>
/// <param name="SyncVersion">The last completed sync's version.</param>
/// <param name="DeliveredSeqs">The last seq delivered, per conversation.</param>
/// <param name="ChangesSeenMs">
/// Per conversation, the time (Unix milliseconds) of the latest change to its messages (edit, recall) fetched after the
/// fact; changes made after it are fetched at the next catch-up. Null (an older saved state): none fetched yet.
/// </param>
public sealed record ImClientState(long SyncVersion, IReadOnlyDictionary<string, long> DeliveredSeqs, IReadOnlyDictionary<string, long>? ChangesSeenMs = null);
