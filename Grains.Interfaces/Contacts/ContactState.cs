namespace Orleans.Im.Contacts;

/// <summary>Where another user stands in this user's contacts.</summary>
[GenerateSerializer, Alias("im.ContactState")]
public enum ContactState
{
    /// <summary>Gone: a friend removed, a request declined or withdrawn. Kept so that incremental sync can say so.</summary>
    None = 0,

    /// <summary>This user asked the other to be friends.</summary>
    Outgoing = 1,

    /// <summary>The other user asked this one.</summary>
    Incoming = 2,

    /// <summary>Friends.</summary>
    Friend = 3,
}
