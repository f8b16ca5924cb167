using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.Accounts;
using Orleans.Im.Contacts;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using Orleans.Storage;

namespace Orleans.Im.Tests.Users;

/// <summary>A user grain whose state write fails (storage unreachable) and what its caller's retry, or the user's peers, see.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class FailedStateWriteTests(ClusterFixture fixture)
{
    /// <summary>The cluster runs the product's presence grace; the offline event comes after it.</summary>
    private static readonly TimeSpan OfflineWait = new UserOptions().PresenceGrace + TimeSpan.FromSeconds(15);

    [Fact]
    public async Task A_retried_entry_change_is_answered_saved_only_once_it_is_stored()
    {
        var (alice, bob, owner) = (Ids.User("alice"), Ids.User("bob"), Ids.User("owner"));
        var conversationId = GrainKeys.P2P(alice, bob);
        var bobs = fixture.Client.GetGrain<IUserGrain>(bob);
        await bobs.GetProfileAsync();
        var storage = GrainId.Create("user", bob);

        // Bob's entry cannot be stored: the first message is refused, and so is its retry while that lasts (the first
        // try made the entry in memory; answered "saved", the message was acked with an entry a deactivation loses).
        fixture.StorageFaults.Fail(storage);
        var clientMsgId = Ids.ClientMsgId();
        Assert.Equal(SendStatus.Unavailable, (await fixture.Client.SendTextAsync(conversationId, alice, "hello", clientMsgId)).Status);
        Assert.Equal(SendStatus.Unavailable, (await fixture.Client.SendTextAsync(conversationId, alice, "hello", clientMsgId)).Status);
        Assert.True(fixture.StorageFaults.Heal(storage) > 0);
        Assert.Equal(SendStatus.Sent, (await fixture.Client.SendTextAsync(conversationId, alice, "hello", clientMsgId)).Status);

        // The same for a removal: its retry while storage fails is not "done".
        var group = await fixture.Client.CreateGroupAsync(owner, bob);
        await Eventually.UntilAsync(() => bobs.GetConversationAsync(group), e => e is not null);
        fixture.StorageFaults.Fail(storage);
        Assert.False(await bobs.RemoveConversationAsync(group));
        Assert.False(await bobs.RemoveConversationAsync(group));
        Assert.True(fixture.StorageFaults.Heal(storage) > 0);
        Assert.True(await bobs.RemoveConversationAsync(group));

        // What was answered saved is what a new activation (storage's view) has.
        await fixture.Cluster.DeactivateAsync(bobs);
        Assert.NotNull(await bobs.GetConversationAsync(conversationId));
        Assert.True((await bobs.GetConversationAsync(group))?.Removed ?? true);
    }

    [Fact]
    public async Task A_push_token_write_whose_answer_was_lost_does_not_leave_the_user_unable_to_save_tokens()
    {
        var bob = Ids.User("bob");
        var bobs = fixture.Client.GetGrain<IUserGrain>(bob);
        var storage = GrainId.Create("user", bob);
        var registration = new PushTokenRegistration("fcm", "token-" + bob, "session-phone", DateTimeOffset.UtcNow);
        Assert.Equal(AccessStatus.Ok, await bobs.SetPushTokenAsync("phone", registration));

        // Stored, but the grain hears a failure and keeps a version storage no longer has.
        fixture.StorageFaults.LoseNextAnswer(storage);
        Assert.Equal(AccessStatus.Unavailable, await bobs.SetPushTokenAsync("phone", null));

        // The next write is refused as stale (storage has a newer version), and the activation is dropped for it: the
        // retry is taken by a new activation that read storage's version, and what it says is stored.
        var rotated = registration with { Token = "rotated-" + bob };
        Assert.Equal(AccessStatus.Unavailable, await bobs.SetPushTokenAsync("phone", rotated));
        Assert.Equal(AccessStatus.Ok, await bobs.SetPushTokenAsync("phone", rotated));
        await fixture.Cluster.DeactivateAsync(bobs);
        Assert.Equal("rotated-" + bob, Assert.Single(await bobs.GetPushTokensAsync()).Value.Token);
    }

    [Fact]
    public async Task A_profile_whose_write_failed_is_not_shown_nor_stored_by_a_later_write()
    {
        var bob = Ids.User("bob");
        var bobs = fixture.Client.GetGrain<IUserGrain>(bob);
        Assert.True(await bobs.SetProfileAsync(new UserProfile("Old", null)));
        var storage = GrainId.Create("user", bob);

        // The write is refused (the caller hears 503 and may retry): others go on reading the stored profile.
        fixture.StorageFaults.Fail(storage);
        try
        {
            await Assert.ThrowsAnyAsync<Exception>(() => bobs.SetProfileAsync(new UserProfile("Refused", null)));
        }
        finally
        {
            Assert.True(fixture.StorageFaults.Heal(storage) > 0);
        }

        Assert.Equal("Old", (await bobs.GetProfileAsync())?.DisplayName);

        // A later write of something else (whether presence is shared) does not store the refused profile either.
        await bobs.SetSharePresenceAsync(false);
        await fixture.Cluster.DeactivateAsync(bobs);
        Assert.Equal("Old", (await bobs.GetProfileAsync())?.DisplayName);
    }

    [Fact]
    public async Task A_group_that_cannot_answer_leaves_its_entry_as_it_is_and_the_sync_goes_on()
    {
        var (owner, bob) = (Ids.User("owner"), Ids.User("bob"));
        var broken = await fixture.Client.CreateGroupAsync(owner, bob);
        var working = await fixture.Client.CreateGroupAsync(owner, bob);
        var bobs = fixture.Client.GetGrain<IUserGrain>(bob);
        await Eventually.UntilAsync(() => bobs.GetConversationAsync(working), e => e is not null);

        // One group's grain cannot activate (its state cannot be read): bob's sync still answers, with both entries.
        await fixture.Cluster.DeactivateAsync(fixture.Client.Conversation(broken));
        var storage = GrainId.Create("conversation", broken);
        fixture.StorageFaults.Fail(storage);
        try
        {
            var synced = await bobs.SyncAsync(0);
            Assert.Contains(synced.Changed, e => e.ConversationId == working);
            Assert.Contains(synced.Changed, e => e.ConversationId == broken && !e.Removed);
        }
        finally
        {
            fixture.StorageFaults.Heal(storage);
        }
    }

    [Fact]
    public async Task A_shop_watch_whose_write_failed_is_written_by_the_retry()
    {
        var agent = Ids.User("agent");
        var shop = Ids.User("shop");
        var user = fixture.Client.GetGrain<IUserGrain>(agent);
        var grain = GrainId.Create("user", agent);
        Assert.Null(await user.GetProfileAsync());

        fixture.StorageFaults.Fail(grain);
        await Assert.ThrowsAsync<OrleansException>(() => user.WatchPresenceForShopAsync(shop, true));
        fixture.StorageFaults.Heal(grain);
        await user.WatchPresenceForShopAsync(shop, true);

        Assert.Contains(shop, (await StoredAsync(grain)).PresenceWatchingShops);
    }

    [Fact]
    public async Task A_presence_fan_out_that_fails_does_not_fail_the_login_and_the_device_stays_connected()
    {
        var alice = Ids.User("alice");
        var user = fixture.Client.GetGrain<IUserGrain>(alice);
        await user.SetSharePresenceAsync(true);
        // The fan-out asks the user's contacts grain for friends; it cannot activate without its storage.
        var contacts = GrainId.Create("contacts", alice);
        fixture.StorageFaults.Fail(contacts);
        try
        {
            await using var phone = await DeviceProbe.ConnectAsync(fixture.Client, alice);

            Assert.Equal([phone.DeviceId], (await user.GetDevicesAsync()).Select(d => d.DeviceId));
            Assert.True(fixture.StorageFaults.Refused(contacts) > 0);
        }
        finally
        {
            fixture.StorageFaults.Heal(contacts);
        }
    }

    [Fact]
    public async Task A_user_whose_last_seen_time_cannot_be_saved_is_still_announced_offline()
    {
        var (alice, carol) = await FriendsAliceSharingPresenceAsync();
        await using var carolPhone = await DeviceProbe.ConnectAsync(fixture.Client, carol);
        var alicePhone = await DeviceProbe.ConnectAsync(fixture.Client, alice);
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online);
        var grain = GrainId.Create("user", alice);

        fixture.StorageFaults.Fail(grain);
        try
        {
            await alicePhone.DisposeAsync();

            // After the presence grace (the product's default here), whatever storage said.
            await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Offline, OfflineWait);
            Assert.True(fixture.StorageFaults.Refused(grain) > 0);
        }
        finally
        {
            fixture.StorageFaults.Heal(grain);
        }
    }

    [Fact]
    public async Task A_presence_fan_out_that_failed_at_a_login_is_tried_again_and_friends_hear_of_the_user()
    {
        var (alice, carol) = await FriendsAliceSharingPresenceAsync();
        await using var carolPhone = await DeviceProbe.ConnectAsync(fixture.Client, carol);

        // Alice's friend list cannot be read when she logs in: the login goes through, her friends are not told.
        var contacts = fixture.Client.GetGrain<IContactsGrain>(alice);
        await fixture.Cluster.DeactivateAsync(contacts);
        var contactsId = contacts.GetGrainId();
        fixture.StorageFaults.Fail(contactsId);
        try
        {
            await using var alicePhone = await DeviceProbe.ConnectAsync(fixture.Client, alice);
            Assert.True(fixture.StorageFaults.Refused(contactsId) > 0);
            fixture.StorageFaults.Heal(contactsId);

            // Told a little later, without anything else happening (before, not until her next change).
            await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online, TimeSpan.FromSeconds(30));
        }
        finally
        {
            fixture.StorageFaults.Heal(contactsId);
        }
    }

    [Fact]
    public async Task A_user_whose_grain_goes_within_the_presence_grace_is_announced_offline_then()
    {
        var (alice, carol) = await FriendsAliceSharingPresenceAsync();
        await using var carolPhone = await DeviceProbe.ConnectAsync(fixture.Client, carol);
        var alicePhone = await DeviceProbe.ConnectAsync(fixture.Client, alice);
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online);

        // Her last device leaves, and within the grace (30 s) her grain goes (its silo stopping): the grace is cut short.
        // Before, the grace timer went with the activation, and carol showed alice online for good.
        await alicePhone.DisposeAsync();
        await fixture.Cluster.DeactivateAsync(fixture.Client.GetGrain<IUserGrain>(alice));
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Offline, TimeSpan.FromSeconds(10));
    }

    [Fact]
    public async Task An_offline_announcement_that_failed_is_tried_again_and_friends_hear_of_it()
    {
        var (alice, carol) = await FriendsAliceSharingPresenceAsync();
        await using var carolPhone = await DeviceProbe.ConnectAsync(fixture.Client, carol);
        var alicePhone = await DeviceProbe.ConnectAsync(fixture.Client, alice);
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online);

        // Alice's friend list cannot be read when her grace runs out: the offline fan-out fails.
        var contacts = fixture.Client.GetGrain<IContactsGrain>(alice);
        await fixture.Cluster.DeactivateAsync(contacts);
        var contactsId = contacts.GetGrainId();
        fixture.StorageFaults.Fail(contactsId);
        try
        {
            await alicePhone.DisposeAsync();
            Assert.True(await Eventually.ReturnsAsync(() => Task.FromResult(fixture.StorageFaults.Refused(contactsId)), refused => refused > 0, OfflineWait) > 0);
        }
        finally
        {
            fixture.StorageFaults.Heal(contactsId);
        }

        // Told a little later (before, never: carol showed alice online for good).
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Offline, TimeSpan.FromSeconds(30));
    }

    /// <summary>Alice and carol, friends; alice shares her presence.</summary>
    private async Task<(string Alice, string Carol)> FriendsAliceSharingPresenceAsync()
    {
        var alice = await NewUserAsync("alice");
        var carol = await NewUserAsync("carol");
        Assert.Equal(AccessStatus.Ok, await fixture.Client.GetGrain<IContactsGrain>(alice).RequestAsync(carol, null));
        Assert.Equal(AccessStatus.Ok, await fixture.Client.GetGrain<IContactsGrain>(carol).AcceptAsync(alice));
        await fixture.Client.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        return (alice, carol);
    }

    private async Task<string> NewUserAsync(string name)
    {
        var userId = Ids.User(name);
        Assert.Equal(AccessStatus.Ok, await fixture.Client.GetGrain<IAccountGrain>(userId).CreateAsync(new NewAccount(name, null, [AccountRole.User])));
        return userId;
    }

    private async Task<UserState> StoredAsync(GrainId grain)
    {
        var stored = new GrainState<UserState>(new UserState());
        await fixture.SiloServices.GetRequiredKeyedService<IGrainStorage>(StorageNames.Grains).ReadStateAsync("user", grain, stored);
        return stored.State!;
    }
}
