namespace Orleans.Im.Client;

/// <summary>What a client has seen: the last completed sync version and the last seq delivered per conversation.</summary>
/// <param name="SyncVersion">The last completed sync's version.</param>
/// <param name="DeliveredSeqs">The last seq delivered, per conversation.</param>
/// <param name="ChangesSeenMs">
/// Per conversation, the time (Unix milliseconds) of the latest change to its messages (edit, recall) fetched after the
/// fact; changes made after it are fetched at the next catch-up. Null (an older saved state): none fetched yet.
/// </param>
/// <param name="FirstSyncDone">
/// Whether the client's first sync finished (it starts new conversations at their read position; later ones, at the
/// start). A state saved between the pages of the first sync has a version but is not done. Null (an older saved
/// state): done when it has a version or delivered anything.
/// </param>
/// <param name="ChangesPending">
/// Per conversation, changes (edits, recalls) up to this time whose fetch was refused: fetched at the next catch-up.
/// </param>
public sealed record ImClientState(
    long SyncVersion,
    IReadOnlyDictionary<string, long> DeliveredSeqs,
    IReadOnlyDictionary<string, long>? ChangesSeenMs = null,
    bool? FirstSyncDone = null,
    IReadOnlyDictionary<string, long>? ChangesPending = null);
