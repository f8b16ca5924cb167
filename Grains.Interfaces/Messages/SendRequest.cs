namespace Orleans.Im.Messages;

/// <summary>A message a user sends into a conversation.</summary>
/// <param name="SenderId">The authenticated user (the edge fills it in from the token, never from the client).</param>
/// <param name="SenderDeviceId">The device that sends.</param>
/// <param name="ClientMsgId">The client's id for this message; retries reuse it (idempotent send).</param>
/// <param name="Content">The body.</param>
/// <param name="Class">Persistent (default), instant or notification.</param>
/// <param name="CollapseKey">Notifications only: the key under which later notices supersede earlier ones.</param>
/// <param name="Mentions">
/// Groups only: the members this message @-mentions, or <see cref="MentionList.All"/> for everybody (owners and admins only).
/// </param>
[GenerateSerializer, Immutable, Alias("im.SendRequest")]
public sealed record SendRequest(
    [property: Id(0)] string SenderId,
    [property: Id(1)] string? SenderDeviceId,
    [property: Id(2)] string ClientMsgId,
    [property: Id(3)] MessageContent Content,
    [property: Id(4)] MessageClass Class = MessageClass.Persistent,
    [property: Id(5)] string? CollapseKey = null,
    [property: Id(6)] IReadOnlyList<string>? Mentions = null);
