namespace Orleans.Im.Push;

/// <summary>
/// Who holds a push token: one per token (keyed by <see cref="PushTokenKeys.For"/>), across all users. A token stands for
/// one install of an app on one phone, and that phone is signed in as one user at a time: the last user to register it
/// holds it, and the one before is told to forget it, so a phone passed on (or signed in as somebody else without
/// signing out) is not told of the first user's messages any more.
/// </summary>
[Alias("im.IPushTokenGrain")]
public interface IPushTokenGrain : IGrainWithStringKey
{
    /// <summary>
    /// <paramref name="userId"/>'s <paramref name="deviceId"/> registered the token: it holds it from now on. A different
    /// user that held it is told (<see cref="Users.IUserGrain.OnPushTokenMovedAsync"/>). Throws when storage could not
    /// commit (nothing was told then).
    /// </summary>
    [Alias("Claim")]
    Task ClaimAsync(string userId, string deviceId);

    /// <summary>The user's device forgot the token: it stays the last to have claimed it, marked released, unless somebody
    /// else claimed it since.</summary>
    [Alias("Release")]
    Task ReleaseAsync(string userId, string deviceId);

    /// <summary>The user and device that claimed the token last (possibly released since), or null when nobody ever did.</summary>
    [Alias("GetHolder")]
    Task<PushTokenHolder?> GetHolderAsync();
}
