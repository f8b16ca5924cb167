namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// A targeted push from an official account to some of its subscribers: one-to-one, into each user's conversation with
/// the account. The same <c>ClientMsgId</c> per user makes a retry of the whole call store nothing twice.
/// </summary>
public sealed record ReachBody(string ClientMsgId, ContentBody Content, string[] ToUserIds);
