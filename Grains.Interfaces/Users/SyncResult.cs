namespace Orleans.Im.Users;

/// <summary>The answer to <see cref="IUserGrain.SyncAsync"/>.</summary>
/// <param name="Version">The user's current sync version: pass it to the next sync.</param>
/// <param name="Changed">Exactly the entries changed since the version asked for.</param>
[GenerateSerializer, Immutable, Alias("im.SyncResult")]
public sealed record SyncResult(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<ConversationEntry> Changed);
