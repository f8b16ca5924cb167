using Orleans.Im.EdgeHost.Api.Contracts;

namespace Orleans.Im.EdgeHost.Hubs;

/// <summary>
/// A pushed event as web clients receive it (method <c>events</c>, an array of these). <see cref="Type"/> says which
/// fields are set: <c>message</c>, <c>changed</c> (recall or edit), <c>readReceipt</c>, <c>conversation</c> (the user's own
/// entry), <c>typing</c>, <c>resync</c>, <c>kick</c>, <c>redirect</c> (this edge is draining: <see cref="Addresses"/> are other edges'
/// hub URLs, best first; the server closes the connection after it), <c>presence</c>, <c>contacts</c> (the user's contacts
/// changed: <see cref="Version"/> is their version now, to fetch <c>GET /api/friends?updatedAfter=</c> the version held).
/// Every event names its conversation and a seq where one applies. A <c>typing</c> event carries
/// <see cref="ExpiresInMs"/>: how long to show it unless another arrives.
/// </summary>
public sealed record HubEvent(
    string Type,
    string? ConversationId = null,
    long Seq = 0,
    MessageView? Message = null,
    ConversationView? Conversation = null,
    string? UserId = null,
    string? Reason = null,
    string[]? Addresses = null,
    int? ExpiresInMs = null,
    long? Version = null);
