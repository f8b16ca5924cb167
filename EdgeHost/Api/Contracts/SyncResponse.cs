namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>Exactly the entries changed since the version asked for.</summary>
public sealed record SyncResponse(long Version, IReadOnlyList<ConversationView> Conversations);
