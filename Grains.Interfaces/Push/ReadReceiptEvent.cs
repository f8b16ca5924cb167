namespace Orleans.Im.Push;

/// <summary>Someone read a conversation up to <see cref="UserEvent.Seq"/>.</summary>
[GenerateSerializer, Immutable, Alias("im.ReadReceiptEvent")]
public sealed record ReadReceiptEvent(
    string ConversationId,
    long Seq,
    [property: Id(0)] string ReaderId)
    : UserEvent(ConversationId, Seq);
