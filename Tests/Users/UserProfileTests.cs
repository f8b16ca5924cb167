using Orleans.Im.Accounts;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Users;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class UserProfileTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_new_user_has_no_profile_and_a_set_profile_is_returned()
    {
        var user = fixture.Client.GetGrain<IUserGrain>("profile-" + Guid.NewGuid().ToString("N"));
        Assert.Null(await user.GetProfileAsync());

        var profile = new UserProfile("Alice", "https://example.invalid/alice.png");
        Assert.True(await user.SetProfileAsync(profile));
        Assert.Equal(profile, await user.GetProfileAsync());
    }

    [Fact]
    public async Task An_account_creation_whose_profile_write_failed_is_finished_by_its_retry()
    {
        var userId = "profile-" + Guid.NewGuid().ToString("N");
        var account = fixture.Client.GetGrain<IAccountGrain>(userId);
        var user = fixture.Client.GetGrain<IUserGrain>(userId);
        var usersStorage = GrainId.Create("user", userId);
        fixture.StorageFaults.Fail(usersStorage);
        try
        {
            // The account is stored, its profile is not: the administrator is told the creation failed.
            await Assert.ThrowsAnyAsync<Exception>(() => account.CreateAsync(new NewAccount("Carol", null, [AccountRole.User])));
        }
        finally
        {
            fixture.StorageFaults.Heal(usersStorage);
        }

        Assert.Null(await user.GetProfileAsync());

        // The retry finishes it (before, it answered "exists" for an account without a name); a later one is a conflict.
        Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount("Carol", null, [AccountRole.User])));
        Assert.Equal("Carol", (await user.GetProfileAsync())?.DisplayName);
        Assert.Equal(AccessStatus.Conflict, await account.CreateAsync(new NewAccount("Carol", null, [AccountRole.User])));
    }

    [Theory]
    [InlineData("")]
    [InlineData("   ")]
    public async Task An_empty_display_name_is_refused_and_the_old_profile_kept(string displayName)
    {
        var user = fixture.Client.GetGrain<IUserGrain>("profile-" + Guid.NewGuid().ToString("N"));
        var original = new UserProfile("Bob", null);
        Assert.True(await user.SetProfileAsync(original));

        Assert.False(await user.SetProfileAsync(new UserProfile(displayName, null)));
        Assert.Equal(original, await user.GetProfileAsync());
    }

    [Fact]
    public async Task Over_long_fields_are_refused()
    {
        var user = fixture.Client.GetGrain<IUserGrain>("profile-" + Guid.NewGuid().ToString("N"));

        Assert.False(await user.SetProfileAsync(new UserProfile(new string('x', UserProfile.MaxDisplayNameLength + 1), null)));
        Assert.False(await user.SetProfileAsync(new UserProfile("ok", "https://example.invalid/" + new string('a', UserProfile.MaxAvatarUrlLength))));
        Assert.Null(await user.GetProfileAsync());
    }
}
