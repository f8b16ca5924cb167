namespace Orleans.Im.Contacts;

/// <summary>
/// Contacts changed after a version (removals included, as <see cref="ContactState.None"/>), and the version now. When
/// <see cref="Full"/>, the changes could not be told (the version was too old, or from another history): this is the whole
/// list of current contacts, and anything the client holds that is not in it is gone.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.ContactChanges")]
public sealed record ContactChanges(
    [property: Id(0)] long Version,
    [property: Id(1)] IReadOnlyList<Contact> Changed,
    [property: Id(2)] bool Full = false);
