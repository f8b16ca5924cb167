namespace Orleans.Im.Groups;

/// <summary>A member's role in a group. Owners and admins manage members and the announcement.</summary>
[GenerateSerializer, Alias("im.GroupRole")]
public enum GroupRole
{
    /// <summary>Reads and posts.</summary>
    Member = 0,

    /// <summary>Also adds and removes plain members and sets the announcement.</summary>
    Admin = 1,

    /// <summary>Also appoints admins; one per group.</summary>
    Owner = 2,
}
