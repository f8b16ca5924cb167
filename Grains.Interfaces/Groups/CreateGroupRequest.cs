namespace Orleans.Im.Groups;

/// <summary>Creates a group: the owner and the first members.</summary>
[GenerateSerializer, Immutable, Alias("im.CreateGroupRequest")]
public sealed record CreateGroupRequest(
    [property: Id(0)] string OwnerId,
    [property: Id(1)] string Name,
    [property: Id(2)] IReadOnlyList<string> MemberIds)
{
    /// <summary>The longest group name, in characters.</summary>
    public const int MaxNameLength = 100;

    /// <summary>The longest announcement, in characters.</summary>
    public const int MaxAnnouncementLength = 2000;
}
