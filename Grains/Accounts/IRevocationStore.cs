namespace Orleans.Im.Accounts;

/// <summary>
/// Ended sessions as announced to the edges, kept durably for an access token's life: what an edge host that starts later
/// catches up from (<see cref="IRevocationLogGrain"/>). Methods complete after the database committed and throw
/// <see cref="Storage.StorageUnavailableException"/> when it could not.
/// </summary>
public interface IRevocationStore
{
    /// <summary>Records announcements; idempotent (a retried announcement is the same record).</summary>
    Task RecordAsync(IReadOnlyCollection<SessionRevoked> revocations);

    /// <summary>Announcements made at or after <paramref name="since"/>, oldest first, at most <paramref name="limit"/> (the newest of them).</summary>
    Task<IReadOnlyList<SessionRevoked>> ReadSinceAsync(DateTimeOffset since, int limit);

    /// <summary>Deletes announcements made before <paramref name="before"/>; the number deleted.</summary>
    Task<int> PruneAsync(DateTimeOffset before);
}
