using Orleans.Im.Messages;

namespace Orleans.Im.Groups;

/// <summary>
/// The outcome of a group operation, with the group as it is afterwards when the caller may see it. <c>NotAdded</c>: of
/// the users a creation or an add named, those left out because they let only friends add them
/// (<see cref="Accounts.GroupAddPolicy.Contacts"/>); those who block the caller are left out without a word.
/// </summary>
[GenerateSerializer, Immutable, Alias("im.GroupResult")]
public sealed record GroupResult(
    [property: Id(0)] AccessStatus Status,
    [property: Id(1)] GroupInfo? Group,
    [property: Id(2)] string? Error = null,
    [property: Id(3)] IReadOnlyList<string>? NotAdded = null);
