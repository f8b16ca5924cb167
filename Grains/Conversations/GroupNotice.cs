using System.Text.Json;
using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>
/// A group notice's custom data (see <see cref="GroupNotices"/>), written as JSON with <see cref="EventJson.Options"/>
/// as other systems read it, and the text shown by clients that do not know its type.
/// </summary>
/// <param name="Type">One of <see cref="GroupNotices"/>' types.</param>
/// <param name="ActorId">Who made the change (the notice's sender).</param>
/// <param name="MemberIds">Whom it concerns, at most <see cref="GroupNotices.MaxMembersListed"/> of them.</param>
/// <param name="MemberCount">How many it concerns, listed or not.</param>
/// <param name="Name">Created, renamed: the group's name.</param>
/// <param name="Role">Role changed: the new role.</param>
/// <param name="NewOwnerId">Member left: who owns the group now, when the owner left.</param>
/// <param name="Announcement">Announcement set: the new one; null when it was cleared.</param>
/// <param name="HistoryHidden">History set: whether members added from now on read only what is said from their join on.</param>
internal sealed record GroupNotice(
    string Type,
    string ActorId,
    string[] MemberIds,
    int MemberCount,
    string? Name = null,
    GroupRole? Role = null,
    string? NewOwnerId = null,
    string? Announcement = null,
    bool? HistoryHidden = null)
{
    /// <summary>The longest announcement quoted in a notice's text (the data carries all of it).</summary>
    private const int MaxQuotedAnnouncement = 200;

    /// <summary>A notice about <paramref name="members"/>, listing the first <see cref="GroupNotices.MaxMembersListed"/>.</summary>
    public static GroupNotice About(string type, string actorId, IReadOnlyCollection<string> members) =>
        new(type, actorId, [.. members.Take(GroupNotices.MaxMembersListed)], members.Count);

    /// <summary>The message content: the type, the text, and this record as JSON (without the type and text).</summary>
    public MessageContent ToContent() =>
        new(ContentType.Custom, Text(), CustomType: Type, CustomData: JsonSerializer.Serialize(
            new { ActorId, MemberIds, MemberCount, Name, Role, NewOwnerId, Announcement, HistoryHidden }, EventJson.Options));

    private string Text() => Type switch
    {
        GroupNotices.Created => $"{ActorId} created the group \"{Name}\"",
        GroupNotices.MembersAdded => $"{ActorId} added {Listed()}",
        GroupNotices.MemberRemoved => $"{ActorId} removed {Listed()}",
        GroupNotices.MemberLeft => NewOwnerId is null ? $"{ActorId} left the group" : $"{ActorId} left the group; {NewOwnerId} is the owner now",
        GroupNotices.RoleChanged => $"{ActorId} made {Listed()} {Role switch
        {
            GroupRole.Owner => "the owner",
            GroupRole.Admin => "an admin",
            _ => "a member",
        }}",
        GroupNotices.Renamed => $"{ActorId} renamed the group \"{Name}\"",
        GroupNotices.AnnouncementSet when Announcement is null => $"{ActorId} cleared the announcement",
        GroupNotices.AnnouncementSet => $"{ActorId} set the announcement: {StorableText.Clip(Announcement, MaxQuotedAnnouncement)}",
        GroupNotices.HistorySet when HistoryHidden == true => $"{ActorId} hid earlier messages from new members",
        GroupNotices.HistorySet => $"{ActorId} let new members read earlier messages",
        GroupNotices.Dissolved => $"{ActorId} dissolved the group",
        _ => Type,
    };

    private string Listed()
    {
        var listed = string.Join(", ", MemberIds);
        return MemberCount > MemberIds.Length ? $"{listed} and {MemberCount - MemberIds.Length} more" : listed;
    }
}
