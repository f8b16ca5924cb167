namespace Orleans.Im.Users;

/// <summary>A connected device of a user, and the edge host that holds its connection.</summary>
[GenerateSerializer, Immutable, Alias("im.DeviceSession")]
public sealed record DeviceSession(
    [property: Id(0)] string DeviceId,
    [property: Id(1)] string Platform,
    [property: Id(2)] string EdgeId,
    [property: Id(3)] DateTimeOffset ConnectedAt);
