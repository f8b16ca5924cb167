namespace Orleans.Im.PublicAccounts;

/// <summary>An official (public) account as its operators and the admin API see it.</summary>
/// <param name="AccountId">The account's id: its conversation is <c>pub:{AccountId}</c>, and it is the sender of what it broadcasts.</param>
/// <param name="Name">The name users see.</param>
/// <param name="OperatorIds">Users (people or robot accounts) who broadcast for the account.</param>
/// <param name="SubscriberCount">How many users are subscribed.</param>
/// <param name="CreatedAt">When it was set up.</param>
[GenerateSerializer, Immutable, Alias("im.PublicAccountInfo")]
public sealed record PublicAccountInfo(
    [property: Id(0)] string AccountId,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<string> OperatorIds,
    [property: Id(3)] int SubscriberCount,
    [property: Id(4)] DateTimeOffset CreatedAt);
