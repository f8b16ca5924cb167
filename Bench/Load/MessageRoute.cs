namespace Orleans.Im.Bench.Load;

/// <summary>Where one message goes: who sends it, into which conversation, and how many users must receive it.</summary>
public readonly record struct MessageRoute(IBenchUser Sender, string ConversationId, int ExpectedDeliveries);
