using Orleans.Im.EdgeHost.Api.Contracts;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>The answer to a hub operation other than send: null <see cref="Error"/> means done.</summary>
public sealed record HubResult(string? Error, ConversationView? Conversation = null, HistoryResponse? History = null, int? MemberCount = null,
    long? Membership = null, ChangesResponse? Changes = null);
