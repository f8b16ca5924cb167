namespace Orleans.Im.Accounts;

/// <summary>
/// The recent revocation broadcast, kept for edge hosts that start after it went out: an edge that never heard a
/// logout would take that session's unexpired access token. One grain, key <see cref="Key"/>; it hears the broadcast as
/// an implicit subscriber, so account grains announce exactly as before, and each edge asks once, when it starts (no
/// call per login). Held in memory: a silo lost with it loses what it held (see docs/OPERATIONS.md).
/// </summary>
[Alias("im.IRevocationLogGrain")]
public interface IRevocationLogGrain : IGrainWithStringKey
{
    /// <summary>The one key (the revocation stream's).</summary>
    public const string Key = Streams.StreamNames.RevocationsKey;

    /// <summary>Revocations announced at or after <paramref name="since"/> (those older are not kept past a day), oldest first.</summary>
    [Alias("GetSince")]
    Task<IReadOnlyList<SessionRevoked>> GetSinceAsync(DateTimeOffset since);
}
