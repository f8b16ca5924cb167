namespace Orleans.Im.Contacts;

/// <summary>One other user in this user's contacts, with the version of its last change.</summary>
[GenerateSerializer, Immutable, Alias("im.Contact")]
public sealed record Contact(
    [property: Id(0)] string UserId,
    [property: Id(1)] ContactState State,
    [property: Id(2)] string? Message,
    [property: Id(3)] DateTimeOffset UpdatedAt,
    [property: Id(4)] long Version);
