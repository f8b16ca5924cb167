namespace Orleans.Im.Bench.Load;

/// <summary>Where one message goes: who sends it, into which conversation, and how many users must receive it.</summary>
/// <param name="Sender">Who sends it.</param>
/// <param name="ConversationId">The conversation.</param>
/// <param name="ExpectedDeliveries">How many users must receive it.</param>
/// <param name="RecipientId">The one user who must receive it (one-to-one), so that an arrival elsewhere is misdelivered; null for several.</param>
public readonly record struct MessageRoute(IBenchUser Sender, string ConversationId, int ExpectedDeliveries, string? RecipientId = null);
