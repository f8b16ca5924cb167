using Orleans.Im.Messages;

namespace Orleans.Im.Groups;

/// <summary>
/// What a group posts into its own conversation when its membership or settings change ("alice added bob"): a stored
/// message of <see cref="ContentType.Custom"/> content, sent as the member who made the change, whose custom type is one
/// of these and whose custom data is JSON (<c>actorId</c>, <c>memberIds</c>, <c>memberCount</c>, and per type
/// <c>name</c>, <c>role</c>, <c>newOwnerId</c>, <c>announcement</c>, <c>historyHidden</c>). Its text says the same for clients that do not
/// know the type. Members' devices learn of changes from them, in order with the messages, and offline devices at sync.
/// </summary>
/// <remarks>
/// Only the server posts them: a client's message of such a type is refused, so a member cannot forge "the owner made me
/// an admin". They cannot be edited or recalled, and they ring no phone (a notice of every join of a large group would).
/// </remarks>
public static class GroupNotices
{
    /// <summary>The custom types of group notices all start with this.</summary>
    public const string Prefix = "im.group.";

    /// <summary>The group was created; <c>memberIds</c> are its first members (the owner is the actor), <c>name</c> its name.</summary>
    public const string Created = Prefix + "created";

    /// <summary>Members were added; <c>memberIds</c> are the new members.</summary>
    public const string MembersAdded = Prefix + "members_added";

    /// <summary>A member was removed by an admin or the owner; <c>memberIds</c> holds them.</summary>
    public const string MemberRemoved = Prefix + "member_removed";

    /// <summary>A member left (the actor); <c>newOwnerId</c> when ownership passed on with it.</summary>
    public const string MemberLeft = Prefix + "member_left";

    /// <summary>A member's role changed; <c>memberIds</c> holds them, <c>role</c> is the new one (owner, admin, member).</summary>
    public const string RoleChanged = Prefix + "role_changed";

    /// <summary>The group was renamed; <c>name</c> is its new name.</summary>
    public const string Renamed = Prefix + "renamed";

    /// <summary>The announcement was set (<c>announcement</c>) or cleared (no <c>announcement</c>).</summary>
    public const string AnnouncementSet = Prefix + "announcement_set";

    /// <summary>
    /// Whether members added from now on read what was said before they joined changed: <c>historyHidden</c> says how it
    /// is now.
    /// </summary>
    public const string HistorySet = Prefix + "history_set";

    /// <summary>
    /// The owner dissolved the group: it is read-only from this notice on (its history stays with its members, who may
    /// leave it), and <c>memberCount</c> says how many members it had.
    /// </summary>
    public const string Dissolved = Prefix + "dissolved";

    /// <summary>
    /// At most this many member ids are listed in one notice (a group created with 2,000 members would not fit a message);
    /// <c>memberCount</c> always says how many there were.
    /// </summary>
    public const int MaxMembersListed = 50;

    /// <summary>True when <paramref name="content"/> is a group notice.</summary>
    public static bool Is(MessageContent? content) =>
        content is { Type: ContentType.Custom, CustomType: { } type } && type.StartsWith(Prefix, StringComparison.Ordinal);

    /// <summary>True when <paramref name="preview"/> (a conversation list's last message) is a group notice.</summary>
    public static bool Is(Users.MessagePreview? preview) =>
        preview is { Type: ContentType.Custom, CustomType: { } type } && type.StartsWith(Prefix, StringComparison.Ordinal);
}
