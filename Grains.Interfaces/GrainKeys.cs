using System.Diagnostics.CodeAnalysis;
using Orleans.Im.Conversations;

namespace Orleans.Im;

/// <summary>
/// The one place where grain keys are built and parsed. Every other piece of code asks this class,
/// so a key's shape can never drift between the silo, the edges and the clients.
/// </summary>
/// <remarks>
/// Conversation ids: <c>p2p:{a}:{b}</c> (the two user ids, sorted ordinally), <c>grp:{id}</c>, <c>room:{id}</c>,
/// <c>pub:{id}</c> and <c>cs:{shop}:{user}</c>. Ids use a restricted character set (see <see cref="IsValidId"/>),
/// so ':' never appears inside a part.
/// </remarks>
public static class GrainKeys
{
    /// <summary>The longest user, group, room, account or shop id accepted, in characters.</summary>
    public const int MaxIdLength = 64;

    /// <summary>The longest user id accepted, in characters.</summary>
    public const int MaxUserIdLength = MaxIdLength;

    private const string P2PPrefix = "p2p";
    private const string GroupPrefix = "grp";
    private const string RoomPrefix = "room";
    private const string PublicAccountPrefix = "pub";
    private const string CustomerServicePrefix = "cs";

    /// <summary>
    /// True when <paramref name="id"/> is a well-formed id: 1 to <see cref="MaxIdLength"/> characters of ASCII
    /// letters, digits, '-', '_' and '.'.
    /// </summary>
    public static bool IsValidId([NotNullWhen(true)] string? id)
    {
        if (string.IsNullOrEmpty(id) || id.Length > MaxIdLength)
        {
            return false;
        }

        foreach (var c in id)
        {
            if (!(char.IsAsciiLetterOrDigit(c) || c is '-' or '_' or '.'))
            {
                return false;
            }
        }

        return true;
    }

    /// <summary>
    /// True when <paramref name="userId"/> is a well-formed user id (see <see cref="IsValidId"/>), and not
    /// <see cref="Messages.MentionList.All"/>: a user of that id could not be mentioned alone, and mentioning them would
    /// mention everyone.
    /// </summary>
    public static bool IsValidUserId([NotNullWhen(true)] string? userId) => IsValidId(userId) && userId != Messages.MentionList.All;

    /// <summary>The one-to-one conversation of two users; the same id whichever order they are given in.</summary>
    public static string P2P(string userA, string userB)
    {
        RequireId(userA, nameof(userA));
        RequireId(userB, nameof(userB));
        return string.CompareOrdinal(userA, userB) <= 0
            ? $"{P2PPrefix}:{userA}:{userB}"
            : $"{P2PPrefix}:{userB}:{userA}";
    }

    /// <summary>A group conversation.</summary>
    public static string Group(string groupId) => Single(GroupPrefix, groupId);

    /// <summary>A new group conversation id, unique without coordination.</summary>
    public static string NewGroup() => Group(Guid.NewGuid().ToString("N"));

    /// <summary>
    /// The group a creator's request makes: the same for a retry of it (the same creator and request id), different
    /// for anyone else's, and as unguessable as the request id.
    /// </summary>
    public static string GroupOfRequest(string creatorId, string requestId)
    {
        ArgumentNullException.ThrowIfNull(creatorId);
        ArgumentNullException.ThrowIfNull(requestId);
        var hash = System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{creatorId}\n{requestId}"));
        return Group(Convert.ToHexStringLower(hash.AsSpan(0, 16)));
    }

    /// <summary>A chat room.</summary>
    public static string Room(string roomId) => Single(RoomPrefix, roomId);

    /// <summary>An official (public) account's conversation.</summary>
    public static string PublicAccount(string accountId) => Single(PublicAccountPrefix, accountId);

    /// <summary>A user's customer-service conversation with a shop.</summary>
    public static string CustomerService(string shopId, string userId)
    {
        RequireId(shopId, nameof(shopId));
        RequireId(userId, nameof(userId));
        return $"{CustomerServicePrefix}:{shopId}:{userId}";
    }

    /// <summary>
    /// Parses a conversation id. Returns false for anything not built by this class (unknown kind, bad ids,
    /// a p2p id whose users are not sorted or are the same user).
    /// </summary>
    public static bool TryParseConversation([NotNullWhen(true)] string? conversationId, [NotNullWhen(true)] out ConversationAddress? address)
    {
        address = null;
        if (string.IsNullOrEmpty(conversationId) || conversationId.Length > 3 * (MaxIdLength + 5))
        {
            return false;
        }

        var parts = conversationId.Split(':');
        switch (parts)
        {
            case [P2PPrefix, var a, var b] when IsValidId(a) && IsValidId(b) && string.CompareOrdinal(a, b) < 0:
                address = new ConversationAddress(ConversationKind.P2P, conversationId, a, b);
                return true;
            case [GroupPrefix, var id] when IsValidId(id):
                address = new ConversationAddress(ConversationKind.Group, conversationId, id, null);
                return true;
            case [RoomPrefix, var id] when IsValidId(id):
                address = new ConversationAddress(ConversationKind.Room, conversationId, id, null);
                return true;
            case [PublicAccountPrefix, var id] when IsValidId(id):
                address = new ConversationAddress(ConversationKind.PublicAccount, conversationId, id, null);
                return true;
            case [CustomerServicePrefix, var shop, var user] when IsValidId(shop) && IsValidId(user):
                address = new ConversationAddress(ConversationKind.CustomerService, conversationId, shop, user);
                return true;
            default:
                return false;
        }
    }

    private static string Single(string prefix, string id)
    {
        RequireId(id, nameof(id));
        return $"{prefix}:{id}";
    }

    private static void RequireId(string id, string parameter)
    {
        if (!IsValidId(id))
        {
            throw new ArgumentException($"'{id}' is not a valid id (1-{MaxIdLength} of A-Z a-z 0-9 - _ .).", parameter);
        }
    }
}
