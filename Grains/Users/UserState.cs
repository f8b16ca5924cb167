namespace Orleans.Im.Users;

/// <summary>The small, rarely changing part of a user that lives in grain state.</summary>
[GenerateSerializer, Alias("im.UserState")]
public sealed class UserState
{
    [Id(0)]
    public UserProfile? Profile { get; set; }
}
