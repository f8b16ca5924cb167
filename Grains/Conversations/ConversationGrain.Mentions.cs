using Orleans.Im.Events;
using Orleans.Im.Groups;
using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

// @mentions in groups: validated against the members (and roles, for @all), stored with the message, told to the
// mentioned members at once even in large groups (their entries' mention flag must not wait for a sync), published.
public sealed partial class ConversationGrain
{
    private SendResult? ValidateMentions(SendRequest request, ActingAgent? acting)
    {
        if (request.Mentions is not { Count: > 0 } mentions)
        {
            return null;
        }

        if (!IsGroup || request.Class != MessageClass.Persistent || acting is not null)
        {
            return SendResult.Refused(SendStatus.Invalid, "mentions are for persistent group messages");
        }

        if (mentions.Count > MentionList.MaxPerMessage)
        {
            return SendResult.Refused(SendStatus.Invalid, $"at most {MentionList.MaxPerMessage} mentions per message");
        }

        if (mentions.Contains(MentionList.All) && state.State.Members[request.SenderId].Role < GroupRole.Admin)
        {
            return SendResult.Refused(SendStatus.Invalid, "only the group's owner and admins mention all");
        }

        var strangers = mentions.Where(id => id != MentionList.All && !IsMember(id)).ToList();
        return strangers.Count > 0
            ? SendResult.Refused(SendStatus.Invalid, "mentions name members only: " + string.Join(", ", strangers.Take(5)))
            : null;
    }

    /// <summary>Distinct, and just <c>all</c> when everybody is mentioned; null when nobody is.</summary>
    private static string[]? NormalizeMentions(IReadOnlyList<string>? mentions) =>
        mentions is not { Count: > 0 } ? null
        : mentions.Contains(MentionList.All) ? [MentionList.All]
        : [.. mentions.Distinct(StringComparer.Ordinal)];

    /// <summary>Who is told of a stored message now: the immediate recipients, plus whoever it mentions.</summary>
    private IEnumerable<string> Recipients(ChatMessage message)
    {
        var immediate = ImmediateRecipients(message.SenderId);
        if (message.Mentions is not { Count: > 0 } mentions || !IsReadDiffusion)
        {
            return immediate;
        }

        // Read diffusion skips offline members; a mention must reach their entries anyway (@all: everybody's).
        return mentions.Contains(MentionList.All)
            ? Members()
            : immediate.Concat(mentions.Where(IsMember)).Distinct(StringComparer.Ordinal);
    }

    private void PublishMentions(ChatMessage message)
    {
        if (message.Mentions is { Count: > 0 } mentions)
        {
            var all = mentions.Contains(MentionList.All);
            firehose.Publish(FirehoseEvents.Mentioned(ConversationId, message.Seq, message.SenderId,
                new MentionEventData(all ? [] : [.. mentions], all), message.ServerTime));
        }
    }
}
