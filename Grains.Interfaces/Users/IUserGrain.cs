namespace Orleans.Im.Users;

/// <summary>A user: profile, settings, devices and the conversation index. Key: the user id.</summary>
[Alias("im.IUserGrain")]
public interface IUserGrain : IGrainWithStringKey
{
    /// <summary>The user's profile, or null when the user has none yet.</summary>
    [Alias("GetProfile")]
    Task<UserProfile?> GetProfileAsync();

    /// <summary>Replaces the profile. Returns false, changing nothing, when a field is over its limit or empty.</summary>
    [Alias("SetProfile")]
    Task<bool> SetProfileAsync(UserProfile profile);
}
