namespace Orleans.Im.Users;

/// <inheritdoc cref="IUserGrain"/>
public sealed class UserGrain(
    [PersistentState("user", StorageNames.Grains)] IPersistentState<UserState> state) : Grain, IUserGrain
{
    public Task<UserProfile?> GetProfileAsync() => Task.FromResult(state.State.Profile);

    public async Task<bool> SetProfileAsync(UserProfile profile)
    {
        ArgumentNullException.ThrowIfNull(profile);
        if (string.IsNullOrWhiteSpace(profile.DisplayName)
            || profile.DisplayName.Length > UserProfile.MaxDisplayNameLength
            || profile.AvatarUrl?.Length > UserProfile.MaxAvatarUrlLength)
        {
            return false;
        }

        state.State.Profile = profile;
        await state.WriteStateAsync();
        return true;
    }
}
