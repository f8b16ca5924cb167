namespace Orleans.Im.Accounts;

/// <summary>
/// Broadcast to every edge host when sessions end (logout, disable): tokens of the session are refused from then on,
/// and connections of it are closed. <see cref="SessionId"/> null means every session of the user.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.SessionRevoked")]
public sealed record SessionRevoked(
    [property: Id(0)] string UserId,
    [property: Id(1)] string? SessionId,
    [property: Id(2)] DateTimeOffset At);
