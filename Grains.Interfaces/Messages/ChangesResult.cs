namespace Orleans.Im.Messages;

/// <summary>Changes to a conversation's messages after a time (<see cref="Conversations.IConversationGrain.PullChangesAsync"/>).</summary>
/// <param name="Status">Ok, or why not.</param>
/// <param name="Messages">
/// The messages revised after the time asked, each as it is now (recalled, edited), in the order of their latest
/// revisions: the last one's <see cref="ChatMessage.RevisedAt"/> is where the next call goes on from.
/// </param>
/// <param name="HasMore">Whether more changes follow the last one returned.</param>
[GenerateSerializer, Immutable, Alias("im.ChangesResult")]
public sealed record ChangesResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] IReadOnlyList<ChatMessage> Messages,
    [property: Id(2)] bool HasMore);
