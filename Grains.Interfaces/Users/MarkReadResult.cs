using Orleans.Im.Messages;

namespace Orleans.Im.Users;

/// <summary>The answer to <see cref="IUserGrain.MarkReadAsync"/>.</summary>
/// <param name="Status"><c>Ok</c>; <c>NotFound</c> when the user is not in that conversation; <c>Unavailable</c> when the
/// read position could not be stored (nothing changed: retry).</param>
/// <param name="Entry">The entry, when <c>Ok</c>.</param>
[GenerateSerializer, Immutable, Alias("im.MarkReadResult")]
public sealed record MarkReadResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] ConversationEntry? Entry);
