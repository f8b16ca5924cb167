namespace Orleans.Im.Contacts;

/// <summary>A user's contacts in grain state; removals stay as tombstones so incremental sync can report them.</summary>
[GenerateSerializer, Alias("im.ContactsState")]
public sealed class ContactsState
{
    [Id(0)]
    public Dictionary<string, Contact> Contacts { get; set; } = new(StringComparer.Ordinal);

    [Id(1)]
    public long Version { get; set; }
}
