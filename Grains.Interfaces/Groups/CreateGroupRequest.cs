namespace Orleans.Im.Groups;

/// <summary>Creates a group: the owner and the first members.</summary>
/// <param name="OwnerId">Who creates it, and owns it.</param>
/// <param name="Name">Its name, 1 to <see cref="MaxNameLength"/> characters.</param>
/// <param name="MemberIds">The first members besides the owner.</param>
/// <param name="HidesHistoryFromNewMembers">
/// Whether members added later read only what is said from their join on (see
/// <see cref="GroupInfo.HidesHistoryFromNewMembers"/>); null: it does, the default, so that adding someone does not
/// show them what was said among the others before.
/// </param>
[GenerateSerializer, Immutable, Alias("im.CreateGroupRequest")]
public sealed record CreateGroupRequest(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<string> MemberIds,
    [property: Id(3)] bool? HidesHistoryFromNewMembers = null)
{
    /// <summary>The longest group name, in characters.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The longest announcement, in characters.</summary>
    public const int MaxAnnouncementLength = 2000;
}
