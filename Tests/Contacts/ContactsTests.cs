using Orleans.Im.Accounts;
using Orleans.Im.Contacts;
using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;

namespace Orleans.Im.Tests.Contacts;

/// <summary>Friend requests between contacts grains: changes that meet, failed writes, blocks and unknown users.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class ContactsTests(ClusterFixture fixture)
{
    private const int Pairs = 20;

    private IClusterClient Client => fixture.Client;

    [Fact]
    public async Task Two_users_asking_each_other_at_once_both_end_friends_and_no_write_is_refused()
    {
        var pairs = await Task.WhenAll(Enumerable.Range(0, Pairs).Select(_ => NewPairAsync()));

        var answers = await Task.WhenAll(pairs.SelectMany(p => new[]
        {
            Contacts(p.A).RequestAsync(p.B, "hi"),
            Contacts(p.B).RequestAsync(p.A, "hello"),
        }));

        Assert.All(answers, a => Assert.Equal(AccessStatus.Ok, a));
        foreach (var (a, b) in pairs)
        {
            Assert.Equal((ContactState.Friend, ContactState.Friend), await BothSidesAsync(a, b));
        }
    }

    [Fact]
    public async Task An_acceptance_and_a_withdrawal_at_once_leave_both_sides_agreeing()
    {
        var pairs = await Task.WhenAll(Enumerable.Range(0, Pairs).Select(_ => NewPairAsync()));
        foreach (var (a, b) in pairs)
        {
            Assert.Equal(AccessStatus.Ok, await Contacts(a).RequestAsync(b, null));
        }

        await Task.WhenAll(pairs.SelectMany(p => new[] { Contacts(p.B).AcceptAsync(p.A), Contacts(p.A).RemoveAsync(p.B) }));

        foreach (var (a, b) in pairs)
        {
            var (mine, theirs) = await BothSidesAsync(a, b);
            Assert.True(mine == theirs && mine is ContactState.Friend or ContactState.None, $"{a}: {mine}, {b}: {theirs}");
        }
    }

    [Fact]
    public async Task A_request_whose_write_failed_is_written_by_the_retry_with_a_newer_version()
    {
        var (alice, bob) = await NewPairAsync();
        var before = await Contacts(alice).GetChangesAsync(0);
        var grain = GrainId.Create("contacts", alice);

        fixture.StorageFaults.Fail(grain);
        await Assert.ThrowsAsync<OrleansException>(() => Contacts(alice).RequestAsync(bob, "hi"));
        fixture.StorageFaults.Heal(grain);
        Assert.Equal(AccessStatus.Ok, await Contacts(alice).RequestAsync(bob, "hi"));

        // What the retry answered is what storage holds: a new activation (storage's view) has it too.
        await fixture.Cluster.DeactivateAsync(Contacts(alice));
        var after = await Contacts(alice).GetChangesAsync(before.Version);
        Assert.Equal([(bob, ContactState.Outgoing)], after.Changed.Select(c => (c.UserId, c.State)));
        Assert.True(after.Version > before.Version);
        Assert.Equal(ContactState.Incoming, (await BothSidesAsync(alice, bob)).Theirs);
    }

    [Fact]
    public async Task A_request_that_reached_the_other_side_but_not_its_own_storage_leaves_both_agreeing_after_the_answer()
    {
        // Whichever side's id sorts first (a change that meets another is settled by it).
        foreach (var requesterSortsFirst in new[] { true, false })
        {
            var (a, b) = await NewPairAsync();
            var (requester, peer) = string.CompareOrdinal(a, b) < 0 == requesterSortsFirst ? (a, b) : (b, a);
            await Contacts(requester).GetChangesAsync(0);
            var grain = GrainId.Create("contacts", requester);

            // The peer took the request; the requester's own write failed: the request failed, and is taken back there.
            fixture.StorageFaults.Fail(grain);
            await Assert.ThrowsAsync<OrleansException>(() => Contacts(requester).RequestAsync(peer, "hi"));
            fixture.StorageFaults.Heal(grain);
            Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(requester, peer));

            // The retry makes it; the peer accepts it.
            Assert.Equal(AccessStatus.Ok, await Contacts(requester).RequestAsync(peer, "hi"));
            Assert.Equal(AccessStatus.Ok, await Contacts(peer).AcceptAsync(requester));
            Assert.Equal((ContactState.Friend, ContactState.Friend), await BothSidesAsync(requester, peer));
        }
    }

    [Fact]
    public async Task A_removal_the_friend_took_but_the_removers_storage_refused_is_taken_back_there()
    {
        // Whichever side's id sorts first (a change that meets another is settled by it).
        foreach (var removerSortsFirst in new[] { true, false })
        {
            var (a, b) = await NewPairAsync();
            var (remover, removed) = string.CompareOrdinal(a, b) < 0 == removerSortsFirst ? (a, b) : (b, a);
            await BefriendAsync(remover, removed);
            await Client.GetGrain<IUserGrain>(remover).SetSharePresenceAsync(true);
            var grain = GrainId.Create("contacts", remover);

            fixture.StorageFaults.Fail(grain);
            await Assert.ThrowsAnyAsync<Exception>(() => Contacts(remover).RemoveAsync(removed));
            fixture.StorageFaults.Heal(grain);

            // Before, the removed friend had dropped the remover while the remover still listed them: the two disagreed,
            // and the removed user's next request made them friends again with no acceptance.
            Assert.Equal((ContactState.Friend, ContactState.Friend), await BothSidesAsync(remover, removed));

            // The retry removes them on both sides; a new request then waits for the remover's answer.
            await Contacts(remover).RemoveAsync(removed);
            Assert.Equal(AccessStatus.Ok, await Contacts(removed).RequestAsync(remover, "why?"));
            Assert.Equal((ContactState.Incoming, ContactState.Outgoing), await BothSidesAsync(remover, removed));
            Assert.Equal(PresenceStatus.Hidden, (await Client.GetGrain<IUserGrain>(remover).GetPresenceForAsync(removed)).Status);
        }
    }

    [Fact]
    public async Task An_acceptance_the_requester_stored_but_whose_answer_was_lost_is_taken_back_so_a_decline_after_it_declines()
    {
        var (alice, bob) = await NewPairAsync();
        Assert.Equal(AccessStatus.Ok, await Contacts(bob).RequestAsync(alice, "hi"));

        // Bob's side stores the acceptance, but its answer is lost: alice's accept fails, and her side stays a request.
        fixture.StorageFaults.LoseNextAnswer(GrainId.Create("contacts", bob));
        await Assert.ThrowsAnyAsync<Exception>(() => Contacts(alice).AcceptAsync(bob));

        // Before, bob's side stayed friends: alice's decline then met "friends" there, was settled into a friendship, and
        // answered 204. Now the acceptance is taken back there, in storage too.
        await DeactivateBothAsync(alice, bob);
        Assert.Equal((ContactState.Incoming, ContactState.Outgoing), await BothSidesAsync(alice, bob));
        await Contacts(alice).RemoveAsync(bob);
        await DeactivateBothAsync(alice, bob);
        Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(alice, bob));
    }

    [Fact]
    public async Task A_removal_the_friend_stored_but_whose_answer_was_lost_leaves_both_agreeing_and_a_new_request_waits_for_an_answer()
    {
        var (alice, bob) = await NewPairAsync();
        await BefriendAsync(alice, bob);

        fixture.StorageFaults.LoseNextAnswer(GrainId.Create("contacts", bob));
        await Assert.ThrowsAnyAsync<Exception>(() => Contacts(alice).RemoveAsync(bob));

        // Before, bob's side had dropped alice while hers still listed him (her presence still went to him), and his next
        // request made them friends again with no acceptance.
        await DeactivateBothAsync(alice, bob);
        Assert.Equal((ContactState.Friend, ContactState.Friend), await BothSidesAsync(alice, bob));
        await Contacts(alice).RemoveAsync(bob);
        Assert.Equal(AccessStatus.Ok, await Contacts(bob).RequestAsync(alice, "why?"));
        await DeactivateBothAsync(alice, bob);
        Assert.Equal((ContactState.Incoming, ContactState.Outgoing), await BothSidesAsync(alice, bob));
    }

    [Fact]
    public async Task Accepting_a_request_the_other_side_never_made_is_answered_not_found_not_friends()
    {
        var (alice, bob) = await NewPairAsync();
        var aliceStorage = GrainId.Create("contacts", alice);
        await Contacts(alice).GetChangesAsync(0);

        // Bob's request is stored on alice's side but its answer is lost, and taking it back there fails too (her storage
        // refuses the write): she lists a request his side never made.
        fixture.StorageFaults.LoseNextAnswer(aliceStorage);
        fixture.StorageFaults.FailAfter(aliceStorage, 2);
        await Assert.ThrowsAnyAsync<Exception>(() => Contacts(bob).RequestAsync(alice, "hi"));
        fixture.StorageFaults.Heal(aliceStorage);
        Assert.Equal((ContactState.Incoming, ContactState.None), await BothSidesAsync(alice, bob));

        // Accepting it settles as bob's side is: no request. Before, that was answered Ok, as if they were friends now.
        Assert.Equal(AccessStatus.NotFound, await Contacts(alice).AcceptAsync(bob));
        Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(alice, bob));
    }

    private async Task DeactivateBothAsync(string a, string b)
    {
        await fixture.Cluster.DeactivateAsync(Contacts(a));
        await fixture.Cluster.DeactivateAsync(Contacts(b));
    }

    [Fact]
    public async Task The_users_reads_while_a_change_is_being_written_show_what_storage_holds()
    {
        var (alice, bob) = await NewPairAsync();
        var carol = await NewUserAsync("carol");
        var before = await Contacts(bob).GetChangesAsync(0);
        var bobStorage = GrainId.Create("contacts", bob);

        // Alice's request reaches bob's grain; its write is in progress. Bob's app fetches its list meanwhile.
        var (entered, release) = fixture.StorageFaults.HoldNext(bobStorage);
        var request = Contacts(alice).RequestAsync(bob, "hi");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var read = await Contacts(bob).GetChangesAsync(0);
        Assert.False(await Contacts(bob).IsFriendAsync(alice));

        // The write fails: the request did not happen.
        fixture.StorageFaults.Fail(bobStorage);
        release.TrySetResult();
        await Assert.ThrowsAnyAsync<Exception>(() => request);
        fixture.StorageFaults.Heal(bobStorage);

        // Bob's app was not shown it (before, it was, at a version whose incremental sync never took it back).
        Assert.DoesNotContain(read.Changed, c => c.UserId == alice);
        Assert.Equal(before.Version, read.Version);
        Assert.Equal(AccessStatus.Ok, await Contacts(carol).RequestAsync(bob, "hello"));
        Assert.Equal([carol], (await Contacts(bob).GetChangesAsync(read.Version)).Changed.Select(c => c.UserId));
    }

    [Fact]
    public async Task A_request_that_passed_the_block_check_before_the_block_ended_requests_does_not_land()
    {
        var (alice, bob) = await NewPairAsync();
        var carol = await NewUserAsync("carol");
        await Contacts(alice).GetChangesAsync(0);
        var aliceStorage = GrainId.Create("contacts", alice);

        // Carol's request to alice is being written; bob's, past its block check, waits for that write.
        var (entered, release) = fixture.StorageFaults.HoldNext(aliceStorage);
        var carols = Contacts(carol).RequestAsync(alice, "hi");
        await entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var bobs = Contacts(bob).RequestAsync(alice, "hi");
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        // Alice blocks bob meanwhile: the block ends requests between them, and bob's has not landed yet.
        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));
        release.TrySetResult();
        Assert.Equal(AccessStatus.Ok, await carols);

        // Before, bob's request landed after the block and sat in alice's list, from someone she had just blocked.
        Assert.Equal(AccessStatus.NotAllowed, await bobs);
        Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(alice, bob));
    }

    [Fact]
    public async Task Two_requests_that_met_agree_when_one_is_settled_after_the_other_side_is_done()
    {
        // Whichever side's id sorts first (two requests that meet make friends; other changes that meet go by the ids).
        foreach (var firstSortsFirst in new[] { true, false })
        {
            var (a, b) = await NewPairAsync();
            var (first, second) = string.CompareOrdinal(a, b) < 0 == firstSortsFirst ? (a, b) : (b, a);
            var met = await TwoRequestsOnTheirWayAsync(first, second);

            // The second side settles the two (friends), and the first ends there before the second's request is settled
            // on the first side.
            met.FirstsAtSecond.TrySetResult();
            Assert.Equal(AccessStatus.Ok, await met.Firsts);
            met.SecondsAtFirst.TrySetResult();
            Assert.Equal(AccessStatus.Ok, await met.Seconds);

            // Before, the first side settled the second's request again from "friends", by the ids: it went back to a
            // request from the second, who stayed friends.
            Assert.Equal((ContactState.Friend, ContactState.Friend), await BothSidesAsync(first, second));
        }
    }

    [Fact]
    public async Task Two_requests_that_met_when_both_inboxes_were_full_leave_both_sides_agreeing()
    {
        var (a, b) = await NewPairAsync();

        // Both inboxes full (as their senders' grains tell them): each refuses the other's request.
        foreach (var (user, other) in new[] { (a, b), (b, a) })
        {
            for (var i = 0; i < ContactsGrain.MaxIncomingRequests; i++)
            {
                Assert.Equal(AccessStatus.Ok, await Contacts(user).OnPeerChangedAsync($"asker-{i}-{user}", ContactState.None, ContactState.Outgoing, null));
            }
        }

        var met = await TwoRequestsOnTheirWayAsync(a, b);
        met.FirstsAtSecond.TrySetResult();
        met.SecondsAtFirst.TrySetResult();
        var answers = (await met.Firsts, await met.Seconds);

        // Whichever refusal is answered first, the two sides agree. Before, when each refused the other's before hearing
        // the answer to its own, each took the other's answer (its own request, made) and listed a request from the other
        // that the other never took: a request each way, past the inboxes' bounds.
        var sides = await BothSidesAsync(a, b);
        Assert.True(
            sides is (ContactState.None, ContactState.None) or (ContactState.Outgoing, ContactState.Incoming) or (ContactState.Incoming, ContactState.Outgoing),
            $"answers {answers}, sides {sides}");
        Assert.Contains(AccessStatus.Invalid, new[] { answers.Item1, answers.Item2 });
    }

    [Fact]
    public async Task A_request_refused_by_a_block_after_the_two_requests_met_leaves_both_sides_agreeing()
    {
        var (alice, bob) = await NewPairAsync();
        var met = await TwoRequestsOnTheirWayAsync(alice, bob);
        var block = Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob);
        await Eventually.UntilAsync(() => Client.GetGrain<IAccountGrain>(alice).IsBlockingAsync(bob), blocking => blocking);

        // Bob settles the two requests (friends), and alice ends there; then her block refuses his request.
        met.FirstsAtSecond.TrySetResult();
        Assert.Equal(AccessStatus.Ok, await met.Firsts);
        met.SecondsAtFirst.TrySetResult();
        Assert.Equal(AccessStatus.NotAllowed, await met.Seconds);
        Assert.True(await block);

        // Before, bob went back to a request from alice (his own, refused, was undone) while she listed him as a friend.
        Assert.Equal((ContactState.Friend, ContactState.Friend), await BothSidesAsync(alice, bob));
    }

    [Fact]
    public async Task A_request_refused_by_a_block_while_the_blockers_own_met_it_leaves_both_sides_agreeing()
    {
        var (alice, bob) = await NewPairAsync();
        await Contacts(bob).GetChangesAsync(0);

        // Bob's request waits at alice's; alice's reaches bob, who settles the two (friends): his write of that waits.
        var bobsAtAlice = fixture.CallHolds.HoldNext(GrainId.Create("contacts", alice), nameof(IContactsGrain.OnPeerChangeAsync));
        var bobs = Contacts(bob).RequestAsync(alice, "hello");
        await bobsAtAlice.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var bobsWrite = fixture.StorageFaults.HoldNext(GrainId.Create("contacts", bob));
        var alices = Contacts(alice).RequestAsync(bob, "hi");
        await bobsWrite.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));

        // Alice blocks bob meanwhile: her block refuses his request while hers is still on its way (bob's answer to it
        // waits for his write).
        var block = Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob);
        await Eventually.UntilAsync(() => Client.GetGrain<IAccountGrain>(alice).IsBlockingAsync(bob), blocking => blocking);
        bobsAtAlice.Release.TrySetResult();
        await Task.Delay(TimeSpan.FromMilliseconds(300));
        bobsWrite.Release.TrySetResult();
        Assert.Equal(AccessStatus.NotAllowed, await bobs);
        Assert.Equal(AccessStatus.Ok, await alices);
        Assert.True(await block);

        // Her request stood (bob took it; his was refused), and the block then ended it on both sides. Before, alice ended
        // friends with bob, as he had settled it, while he went back to her request.
        Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(alice, bob));
    }

    [Fact]
    public async Task A_block_whose_conversation_could_not_be_written_is_not_listed_and_its_retry_refuses_the_messages()
    {
        var (alice, bob) = await NewPairAsync();
        var account = Client.GetGrain<IAccountGrain>(alice);
        var conversationId = GrainKeys.P2P(alice, bob);
        await Client.Conversation(conversationId).GetHeadAsync(alice);
        var storage = GrainId.Create("conversation", conversationId);

        // The conversation, which refuses the messages, cannot store the block: it fails, and does not show as made.
        fixture.StorageFaults.Fail(storage);
        await Assert.ThrowsAnyAsync<Exception>(() => account.BlockAsync(bob));
        Assert.True(fixture.StorageFaults.Heal(storage) > 0);
        Assert.DoesNotContain(bob, await account.GetBlockedAsync());

        Assert.True(await account.BlockAsync(bob));
        Assert.Contains(bob, await account.GetBlockedAsync());
        Assert.Equal(SendStatus.Blocked, (await Client.SendTextAsync(conversationId, bob, "still here")).Status);
    }

    [Fact]
    public async Task Blocking_ends_a_pending_request_and_neither_side_can_make_a_friendship_of_it()
    {
        var (alice, bob) = await NewPairAsync();
        Assert.Equal(AccessStatus.Ok, await Contacts(alice).RequestAsync(bob, "hi"));

        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));

        Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(alice, bob));
        Assert.Equal(AccessStatus.NotFound, await Contacts(bob).AcceptAsync(alice));
        Assert.Equal(AccessStatus.NotAllowed, await Contacts(bob).RequestAsync(alice, "please"));
        Assert.Equal(AccessStatus.NotAllowed, await Contacts(alice).RequestAsync(bob, "changed my mind"));
        Assert.Equal((ContactState.None, ContactState.None), await BothSidesAsync(alice, bob));
    }

    [Fact]
    public async Task A_request_to_a_user_who_does_not_exist_is_not_found()
    {
        var alice = await NewUserAsync("alice");

        Assert.Equal(AccessStatus.NotFound, await Contacts(alice).RequestAsync(Ids.User("ghost"), "anyone?"));
        Assert.Empty((await Contacts(alice).GetChangesAsync(0)).Changed);
    }

    [Fact]
    public async Task A_friend_the_user_blocked_hears_nothing_of_the_users_presence()
    {
        var (alice, bob, carol) = await AliceWithFriendsBobAndCarolAsync();

        await Client.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);
        await using var carolPhone = await DeviceProbe.ConnectAsync(Client, carol);

        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);

        // Carol, told in the same fan-out, heard it: by then bob would have too.
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.DoesNotContain(bobPhone.Events.OfType<PresenceEvent>(), e => e.UserId == alice);
    }

    [Fact]
    public async Task Friends_who_saw_the_users_status_are_told_hidden_when_sharing_stops_or_they_are_blocked()
    {
        var (alice, bob, carol) = await AliceWithFriendsBobAndCarolAsync();

        var alices = Client.GetGrain<IUserGrain>(alice);
        await alices.SetSharePresenceAsync(true);
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);
        await using var carolPhone = await DeviceProbe.ConnectAsync(Client, carol);
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online);

        // Sharing off: a status shown must not stay frozen; back on: shown again.
        await alices.SetSharePresenceAsync(false);
        await carolPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Hidden);
        await alices.SetSharePresenceAsync(true);
        await bobPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online
            && bobPhone.Events.OfType<PresenceEvent>().Any(h => h.UserId == alice && h.Status == PresenceStatus.Hidden));

        // Blocked: told hidden too, as if sharing were off.
        var hiddenBefore = bobPhone.Events.OfType<PresenceEvent>().Count(e => e.UserId == alice && e.Status == PresenceStatus.Hidden);
        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(bob));
        await Eventually.UntilAsync(
            () => Task.FromResult(bobPhone.Events.OfType<PresenceEvent>().Count(e => e.UserId == alice && e.Status == PresenceStatus.Hidden)),
            n => n > hiddenBefore);
    }

    [Fact]
    public async Task A_new_friend_sees_the_users_status_at_once_and_an_ex_friend_stops_showing_it()
    {
        var (alice, bob) = await NewPairAsync();
        await Client.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);

        // Befriended while alice is online: bob's app shows her online now, not at her next change of status.
        await BefriendAsync(alice, bob);
        await bobPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online);

        // Unfriended (by either side): her status no longer stays frozen on his screen.
        await Contacts(alice).RemoveAsync(bob);
        await bobPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Hidden);
    }

    [Fact]
    public async Task A_friend_unblocked_is_told_the_users_status_again()
    {
        var (alice, bob) = await NewPairAsync();
        await BefriendAsync(alice, bob);
        await Client.GetGrain<IUserGrain>(alice).SetSharePresenceAsync(true);
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);
        await bobPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online);
        var account = Client.GetGrain<IAccountGrain>(alice);
        Assert.True(await account.BlockAsync(bob));
        await bobPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Hidden);
        var told = bobPhone.Events.OfType<PresenceEvent>().Count(e => e.UserId == alice);

        // Unblocked while she stays online: his app shows her online again now, not at her next change (hours, maybe).
        await account.UnblockAsync(bob);
        await bobPhone.WaitForAsync<PresenceEvent>(e => e.UserId == alice && e.Status == PresenceStatus.Online
            && bobPhone.Events.OfType<PresenceEvent>().Count(p => p.UserId == alice) > told);
    }

    [Fact]
    public async Task Requests_from_others_have_their_own_bound_and_never_leave_the_user_unable_to_ask_or_accept()
    {
        var (alice, bob) = await NewPairAsync();
        var carol = await NewUserAsync("carol");
        Assert.Equal(AccessStatus.Ok, await Contacts(bob).RequestAsync(alice, null));

        // Alice's inbox fills with requests (as their senders' grains tell them), up to its bound.
        for (var i = 1; i < ContactsGrain.MaxIncomingRequests; i++)
        {
            Assert.Equal(AccessStatus.Ok, await Contacts(alice).OnPeerChangedAsync($"asker-{i}-{alice}", ContactState.None, ContactState.Outgoing, null));
        }

        // One more is refused until she answers some; her own requests and answers go on.
        Assert.Equal(AccessStatus.Invalid, await Contacts(carol).RequestAsync(alice, "me too"));
        Assert.Equal(ContactState.None, (await BothSidesAsync(carol, alice)).Mine);
        Assert.Equal(AccessStatus.Ok, await Contacts(alice).AcceptAsync(bob));
        Assert.Equal(AccessStatus.Ok, await Contacts(alice).RequestAsync(carol, "you first"));
        Assert.Equal((ContactState.Outgoing, ContactState.Incoming), await BothSidesAsync(alice, carol));
    }

    [Fact]
    public async Task Removals_beyond_the_bound_are_pruned_and_a_client_that_synced_before_them_gets_the_whole_list()
    {
        var alice = await NewUserAsync("alice");
        var friend = await NewUserAsync("friend");
        Assert.Equal(AccessStatus.Ok, await Contacts(alice).RequestAsync(friend, null));
        var early = await Contacts(alice).GetChangesAsync(0);

        // Requests that came and went (as their senders' grains tell it), one removal more than are kept.
        for (var i = 0; i <= ContactsGrain.MaxTombstones; i++)
        {
            var gone = $"gone-{i}-{alice}";
            Assert.Equal(AccessStatus.Ok, await Contacts(alice).OnPeerChangedAsync(gone, ContactState.None, ContactState.Outgoing, null));
            Assert.Equal(AccessStatus.Ok, await Contacts(alice).OnPeerChangedAsync(gone, ContactState.Outgoing, ContactState.None, null));
        }

        var stale = await Contacts(alice).GetChangesAsync(early.Version);
        Assert.True(stale.Full);
        Assert.Equal([(friend, ContactState.Outgoing)], stale.Changed.Select(c => (c.UserId, c.State)));
        var recent = await Contacts(alice).GetChangesAsync(stale.Version - 1);
        Assert.False(recent.Full);
        Assert.Equal([ContactState.None], recent.Changed.Select(c => c.State));
    }

    [Fact]
    public async Task Both_sides_devices_are_told_of_a_request_and_its_answer_with_the_version_to_fetch_up_to()
    {
        var (alice, bob) = await NewPairAsync();
        await using var alicePhone = await DeviceProbe.ConnectAsync(Client, alice);
        await using var bobPhone = await DeviceProbe.ConnectAsync(Client, bob);

        // Bob's phone learns of the request as it comes, not at his next look at the list; alice's other devices too.
        Assert.Equal(AccessStatus.Ok, await Contacts(alice).RequestAsync(bob, "hi"));
        var requested = (await Contacts(bob).GetChangesAsync(0)).Version;
        await bobPhone.WaitForAsync<ContactsChangedEvent>(e => e.Version == requested);
        var asked = (await Contacts(alice).GetChangesAsync(0)).Version;
        await alicePhone.WaitForAsync<ContactsChangedEvent>(e => e.Version == asked);

        // The answer: both are told again, at the versions that bring it.
        Assert.Equal(AccessStatus.Ok, await Contacts(bob).AcceptAsync(alice));
        foreach (var (user, phone) in new[] { (alice, alicePhone), (bob, bobPhone) })
        {
            var changes = await Contacts(user).GetChangesAsync(0);
            Assert.Equal(ContactState.Friend, Assert.Single(changes.Changed).State);
            await phone.WaitForAsync<ContactsChangedEvent>(e => e.Version == changes.Version);
        }
    }

    [Fact]
    public async Task A_change_told_in_the_old_form_by_a_silo_not_yet_upgraded_is_taken()
    {
        var (a, b) = await NewPairAsync();

        // What a silo from before OnPeerChangedFrom calls: a's request, told to b without what a saw before.
        Assert.Equal(AccessStatus.Ok, await Contacts(b).OnPeerChangedAsync(a, ContactState.Outgoing, "hi"));

        var onB = (await Contacts(b).GetChangesAsync(0)).Changed.Single(c => c.UserId == a);
        Assert.Equal((ContactState.Incoming, "hi"), (onB.State, onB.Message));
    }

    private IContactsGrain Contacts(string userId) => Client.GetGrain<IContactsGrain>(userId);

    /// <summary>
    /// A request from each of <paramref name="first"/> and <paramref name="second"/>, both on their way at once (each made
    /// before the other's arrived), each held at the other's contacts grain until the test releases it.
    /// </summary>
    private async Task<(Task<AccessStatus> Firsts, Task<AccessStatus> Seconds, TaskCompletionSource FirstsAtSecond, TaskCompletionSource SecondsAtFirst)>
        TwoRequestsOnTheirWayAsync(string first, string second)
    {
        var firstsAtSecond = fixture.CallHolds.HoldNext(GrainId.Create("contacts", second), nameof(IContactsGrain.OnPeerChangeAsync));
        var secondsAtFirst = fixture.CallHolds.HoldNext(GrainId.Create("contacts", first), nameof(IContactsGrain.OnPeerChangeAsync));
        var firsts = Contacts(first).RequestAsync(second, "hi");
        await firstsAtSecond.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        var seconds = Contacts(second).RequestAsync(first, "hello");
        await secondsAtFirst.Entered.Task.WaitAsync(TimeSpan.FromSeconds(10));
        return (firsts, seconds, firstsAtSecond.Release, secondsAtFirst.Release);
    }

    private async Task<(ContactState Mine, ContactState Theirs)> BothSidesAsync(string userId, string otherId)
    {
        var mine = (await Contacts(userId).GetChangesAsync(0)).Changed.SingleOrDefault(c => c.UserId == otherId)?.State ?? ContactState.None;
        var theirs = (await Contacts(otherId).GetChangesAsync(0)).Changed.SingleOrDefault(c => c.UserId == userId)?.State ?? ContactState.None;
        return (mine, theirs);
    }

    private async Task<(string A, string B)> NewPairAsync() => (await NewUserAsync("a"), await NewUserAsync("b"));

    private async Task<string> NewUserAsync(string name)
    {
        var userId = Ids.User(name);
        Assert.Equal(AccessStatus.Ok, await Client.GetGrain<IAccountGrain>(userId).CreateAsync(new NewAccount(name, null, [AccountRole.User])));
        return userId;
    }

    /// <summary><paramref name="asker"/>'s friend request, accepted by <paramref name="friend"/>.</summary>
    private async Task BefriendAsync(string asker, string friend)
    {
        Assert.Equal(AccessStatus.Ok, await Contacts(asker).RequestAsync(friend, null));
        Assert.Equal(AccessStatus.Ok, await Contacts(friend).AcceptAsync(asker));
    }

    /// <summary>Alice, and bob and carol who accepted her friend requests.</summary>
    private async Task<(string Alice, string Bob, string Carol)> AliceWithFriendsBobAndCarolAsync()
    {
        var alice = await NewUserAsync("alice");
        var bob = await NewUserAsync("bob");
        var carol = await NewUserAsync("carol");
        foreach (var friend in new[] { bob, carol })
        {
            await BefriendAsync(alice, friend);
        }

        return (alice, bob, carol);
    }
}
