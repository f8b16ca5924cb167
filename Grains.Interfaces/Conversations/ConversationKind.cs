using System.Text.Json.Serialization;

namespace Orleans.Im.Conversations;

/// <summary>What kind of conversation an id names; the prefix of the id says it.</summary>
[GenerateSerializer, Alias("im.ConversationKind")]
public enum ConversationKind
{
    /// <summary><c>p2p:{a}:{b}</c>: two users.</summary>
    [JsonStringEnumMemberName("p2p")]
    P2P = 1,

    /// <summary><c>grp:{id}</c>: a group with an owner, admins and members.</summary>
    Group = 2,

    /// <summary><c>room:{id}</c>: a chat room; online members only, nothing stored.</summary>
    Room = 3,

    /// <summary><c>pub:{id}</c>: an official account and its subscribers.</summary>
    PublicAccount = 4,

    /// <summary><c>cs:{shop}:{user}</c>: a user and a shop's customer service.</summary>
    CustomerService = 5,
}
