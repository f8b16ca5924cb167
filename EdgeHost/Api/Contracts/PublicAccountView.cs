namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>An official account. <c>OperatorIds</c> are shown to its operators and the admin API only.</summary>
public sealed record PublicAccountView(string AccountId, string ConversationId, string Name, int SubscriberCount, DateTimeOffset CreatedAt, string[]? OperatorIds);
