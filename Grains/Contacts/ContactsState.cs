namespace Orleans.Im.Contacts;

/// <summary>A user's contacts in grain state; removals stay as tombstones so incremental sync can report them.</summary>
[GenerateSerializer, Alias("im.ContactsState")]
public sealed class ContactsState
{
    [Id(0)]
    public Dictionary<string, Contact> Contacts { get; set; } = new(StringComparer.Ordinal);

    [Id(1)]
    public long Version { get; set; }

    /// <summary>
    /// The newest version of a tombstone pruned: a client that synced before it may have missed that removal, so it gets
    /// the whole list instead of the changes.
    /// </summary>
    [Id(2)]
    public long ResyncFloor { get; set; }
}
