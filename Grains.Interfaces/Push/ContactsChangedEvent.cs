namespace Orleans.Im.Push;

/// <summary>
/// This user's contacts changed (a friend request came or was answered, a friend was removed, on this side or the
/// other's): devices fetch the changes after the version they hold (<c>GET /api/friends?updatedAfter=</c>), up to
/// <paramref name="Version"/>. A version already held was fetched; events may arrive out of order.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.ContactsChangedEvent")]
public sealed record ContactsChangedEvent([property: Id(0)] long Version) : UserEvent("", 0);
