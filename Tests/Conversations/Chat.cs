using Orleans.Im.Conversations;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Conversations;

/// <summary>Short ways to do what the conversation tests do over and over.</summary>
internal static class Chat
{
    public static IConversationGrain Conversation(this IClusterClient client, string conversationId) =>
        client.GetGrain<IConversationGrain>(conversationId);

    /// <summary>Two new users and their one-to-one conversation.</summary>
    public static (string Alice, string Bob, string ConversationId) NewPair()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        return (alice, bob, GrainKeys.P2P(alice, bob));
    }

    public static Task<SendResult> SendTextAsync(this IClusterClient client, string conversationId, string senderId, string text, string? clientMsgId = null, string? deviceId = null) =>
        client.Conversation(conversationId).SendAsync(new SendRequest(senderId, deviceId, clientMsgId ?? Ids.ClientMsgId(), MessageContent.FromText(text)));

    public static async Task<IReadOnlyList<ChatMessage>> PullAllAsync(this IClusterClient client, string conversationId, string userId)
    {
        var all = new List<ChatMessage>();
        while (true)
        {
            var page = await client.Conversation(conversationId).PullAsync(userId, new PullRequest(all.Count == 0 ? 0 : all[^1].Seq, null, MessageLimits.MaxPullLimit));
            Assert.Equal(AccessStatus.Ok, page.Status);
            all.AddRange(page.Messages);
            if (page.Messages.Count < MessageLimits.MaxPullLimit)
            {
                return all;
            }
        }
    }

    /// <summary>
    /// The seq of a group's first message after <see cref="CreateGroupAsync"/>: seq 1 is the group's notice that it was
    /// created.
    /// </summary>
    public const long FirstGroupMessageSeq = 2;

    /// <summary>What members wrote: <paramref name="messages"/> without the group's notices of its changes.</summary>
    public static IEnumerable<ChatMessage> Written(this IEnumerable<ChatMessage> messages) =>
        messages.Where(m => !GroupNotices.Is(m.Content));

    public static async Task<string> CreateGroupAsync(this IClusterClient client, string ownerId, params string[] memberIds)
    {
        var conversationId = GrainKeys.NewGroup();
        var result = await client.Conversation(conversationId).CreateGroupAsync(new CreateGroupRequest(ownerId, "test group", memberIds));
        Assert.Equal(AccessStatus.Ok, result.Status);
        return conversationId;
    }
}
