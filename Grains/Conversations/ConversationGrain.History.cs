using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

// History kept from new members: a group that hides what was said before a member joined neither answers nor tells that
// member anything of it (see GroupMember.HistoryStartsAfterSeq). Everyone else's history starts at seq 1.
public sealed partial class ConversationGrain
{
    /// <summary>The seq after which <paramref name="userId"/>'s history starts: 0 but for a member a group kept its history from.</summary>
    private long HistoryStartFor(string userId) =>
        IsGroup && state.State.Members.TryGetValue(userId, out var member) ? member.HistoryStartsAfterSeq : 0;

    /// <summary>Whether <paramref name="seq"/> is in <paramref name="userId"/>'s history.</summary>
    private bool InHistoryOf(string userId, long seq) => HistoryStartFor(userId) < seq;

    /// <summary>
    /// <paramref name="message"/> as the head of <paramref name="userId"/>'s entry: one said before their history starts
    /// shows only that there was a message (as one deleted for them), not what it said or who sent it as which device.
    /// </summary>
    private ChatMessage HeadFor(string userId, ChatMessage message) =>
        InHistoryOf(userId, message.Seq)
            ? message
            : message with { Content = null, State = MessageState.Deleted, ActingSenderId = null, SenderDeviceId = null, Mentions = null };
}
