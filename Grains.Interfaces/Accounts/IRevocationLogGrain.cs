namespace Orleans.Im.Accounts;

/// <summary>
/// The recent revocation broadcast, kept for edge hosts that start after it went out: an edge that never heard a
/// logout would take that session's unexpired access token. One grain, key <see cref="Key"/>; account grains record each
/// announcement in PostgreSQL before they broadcast it, so what it serves survives the loss of any silo, and each edge
/// asks once, when it starts (no call per login).
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
