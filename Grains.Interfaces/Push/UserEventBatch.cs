namespace Orleans.Im.Push;

/// <summary>Events for one user, pushed as one stream item so that edges write them to a connection in one go.</summary>
[GenerateSerializer, Immutable, Alias("im.UserEventBatch")]
public sealed record UserEventBatch(
    [property: Id(0)] string UserId,
    [property: Id(1)] IReadOnlyList<UserEvent> Events);
