namespace Orleans.Im.Contacts;

/// <summary>Contacts changed after a version (removals included, as <see cref="ContactState.None"/>), and the version now.</summary>
[GenerateSerializer, Immutable, Alias("im.ContactChanges")]
public sealed record ContactChanges(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<Contact> Changed);
