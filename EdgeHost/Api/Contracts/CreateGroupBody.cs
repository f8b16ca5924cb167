namespace Orleans.Im.EdgeHost.Api.Contracts;

/// <summary>
/// A new group: its name and first members (the caller becomes owner). <c>RequestId</c> (optional, 1-64 printable
/// characters, a UUID say): the same caller's retry with the same id creates no second group, but finishes the first and
/// answers it, so a client that lost the answer (or was told 503) retries safely. <c>HidesHistoryFromNewMembers</c>
/// (optional, true when left out): members added later read only what is said from their join on.
/// </summary>
public sealed record CreateGroupBody(string Name, IReadOnlyList<string>? MemberIds = null, string? RequestId = null, bool? HidesHistoryFromNewMembers = null);
