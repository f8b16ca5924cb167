using System.Text.Json;
using Orleans.Im.Accounts;
using Orleans.Im.Events;
using Orleans.Im.Firehose;
using Orleans.Im.Groups;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Orleans.Im.Users;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Conversations;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class MentionTests(ClusterFixture fixture) : IAsyncLifetime
{
    private ConnectionMultiplexer _redis = null!;

    private IClusterClient Client => fixture.Client;

    public async Task InitializeAsync() => _redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task A_mention_flags_the_entry_even_when_muted_until_read_past_it_and_is_stored_and_published()
    {
        var (owner, muted, other) = (Ids.User("owner"), Ids.User("muted"), Ids.User("other"));
        var group = await Client.CreateGroupAsync(owner, muted, other);
        await using var recorder = new FirehoseRecorder(_redis,
            new FirehoseConsumerOptions { Group = "mentions-" + Guid.NewGuid().ToString("N"), Consumer = "reader", Classes = [EventClass.Mention] },
            e => e.ConversationId == group);
        await recorder.CreateGroupAsync();
        recorder.Start();
        var user = Client.GetGrain<IUserGrain>(muted);
        await user.UpdateConversationSettingsAsync(group, new ConversationSettings(Muted: true));

        await Client.SendTextAsync(group, other, "before");
        var mention = await Client.Conversation(group).SendAsync(new SendRequest(other, null, Ids.ClientMsgId(), MessageContent.FromText("@muted look"), Mentions: [muted, muted]));
        await Client.SendTextAsync(group, other, "after");
        Assert.Equal(SendStatus.Sent, mention.Status);

        var entry = await Eventually.ReturnsAsync(() => user.GetConversationAsync(group), e => e?.LastSeq == mention.Seq + 1);
        // Unread: the group's notice that it was created, and the three messages.
        Assert.Equal((true, true, mention.Seq, 4L), (entry!.Muted, entry.Mentioned, entry.MentionSeq, entry.UnreadCount));
        Assert.False((await Client.GetGrain<IUserGrain>(other).GetConversationAsync(group))!.Mentioned);

        // Reading up to just before the mention keeps the flag; reading past it clears it.
        Assert.True((await user.MarkReadAsync(group, mention.Seq - 1)).Entry!.Mentioned);
        var read = (await user.MarkReadAsync(group, mention.Seq)).Entry;
        Assert.Equal((false, 1L), (read!.Mentioned, read.UnreadCount));

        // Stored with the message (from the database, not the grain's memory: the log is read past the recent window).
        var stored = Assert.Single(await Client.Conversation(group).PullAsync(owner, new PullRequest(mention.Seq - 1, mention.Seq + 1, 1)) is { } page ? page.Messages : []);
        Assert.Equal([muted], stored.Mentions);
        var fromLog = await Client.PullAllAsync(group, owner);
        Assert.Equal([muted], fromLog.Single(m => m.Seq == mention.Seq).Mentions);

        var published = Assert.Single(await recorder.WaitForAsync(k => k.Count >= 1));
        Assert.Equal((EventClass.Mention, "mention", mention.Seq, other, $"n:{group}:{mention.Seq}"), (published.Class, published.Type, published.Seq, published.UserId, published.Id));
        using var data = JsonDocument.Parse(published.Data);
        Assert.Equal(muted, data.RootElement.GetProperty("mentioned")[0].GetString());
    }

    [Fact]
    public async Task Mentions_name_members_only_and_all_is_for_owners_and_admins_also_reaching_offline_members_of_large_groups()
    {
        var owner = Ids.User("owner");
        var members = Enumerable.Range(0, ClusterFixture.LargeGroupThreshold + 5).Select(_ => Ids.User("m")).ToArray();
        var group = await Client.CreateGroupAsync(owner, members);
        var stranger = Ids.User("stranger");

        Assert.Equal(SendStatus.Invalid, (await SendMentioningAsync(group, members[0], stranger)).Status);
        Assert.Equal(SendStatus.Invalid, (await SendMentioningAsync(group, members[0], MentionList.All)).Status);
        Assert.Equal(SendStatus.Invalid, (await Client.Conversation(GrainKeys.P2P(owner, members[0])).SendAsync(
            new SendRequest(owner, null, Ids.ClientMsgId(), MessageContent.FromText("hi"), Mentions: [members[0]]))).Status);

        // A large group tells only online members of a message, but a mentioned member's entry is flagged at once.
        var one = await SendMentioningAsync(group, members[0], members[1]);
        Assert.Equal(SendStatus.Sent, one.Status);
        var flagged = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(members[1]).GetConversationAsync(group), e => e?.Mentioned == true);
        Assert.Equal((true, one.Seq), (flagged!.Mentioned, flagged.MentionSeq));
        Assert.False((await Client.GetGrain<IUserGrain>(members[2]).GetConversationAsync(group))!.Mentioned);

        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(group).SetRoleAsync(owner, members[3], GroupRole.Admin)).Status);
        var all = await SendMentioningAsync(group, members[3], MentionList.All);
        Assert.Equal(SendStatus.Sent, all.Status);
        foreach (var user in new[] { owner, members[2], members[^1] })
        {
            var entry = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(user).GetConversationAsync(group), e => e?.Mentioned == true);
            Assert.Equal((true, all.Seq), (entry!.Mentioned, entry.MentionSeq));
        }

        Assert.False((await Client.GetGrain<IUserGrain>(members[3]).GetConversationAsync(group))!.Mentioned);
    }

    [Fact]
    public async Task A_recalled_mention_and_one_from_before_a_removal_leave_no_badge()
    {
        var (owner, bob, carol) = (Ids.User("owner"), Ids.User("bob"), Ids.User("carol"));
        var group = await Client.CreateGroupAsync(owner, bob, carol);
        var bobs = Client.GetGrain<IUserGrain>(bob);
        var carols = Client.GetGrain<IUserGrain>(carol);

        // Recalled: the "@you" goes with the message.
        var taken = await SendMentioningAsync(group, owner, bob);
        await Eventually.UntilAsync(() => bobs.GetConversationAsync(group), e => e?.Mentioned == true);
        Assert.Equal(AccessStatus.Ok, await Client.Conversation(group).RecallAsync(owner, taken.Seq));
        var recalled = await Eventually.ReturnsAsync(() => bobs.GetConversationAsync(group), e => e?.Mentioned == false);
        Assert.False(recalled!.Mentioned);

        // Removed while mentioned, and added back: nothing from before is unread (only the notice that added her), so no
        // mention is shown either.
        var unread = await SendMentioningAsync(group, owner, carol);
        await Eventually.UntilAsync(() => carols.GetConversationAsync(group), e => e?.Mentioned == true && e.MentionSeq == unread.Seq);
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(group).RemoveMemberAsync(owner, carol)).Status);
        await Client.SendTextAsync(group, owner, "while carol was out");
        Assert.Equal(AccessStatus.Ok, (await Client.Conversation(group).AddMembersAsync(owner, [carol])).Status);
        var back = await carols.GetConversationAsync(group);
        Assert.Equal((false, false, 1L, GroupNotices.MembersAdded), (back!.Removed, back.Mentioned, back.UnreadCount,
            (await Client.Conversation(group).PullAsync(carol, new PullRequest(back.ReadSeq, null, 1))).Messages.Single().Content!.CustomType));
    }

    [Fact]
    public async Task A_member_who_blocks_the_sender_is_not_mentioned_by_them()
    {
        var (owner, alice, mallory) = (Ids.User("owner"), Ids.User("alice"), Ids.User("mallory"));
        var group = await Client.CreateGroupAsync(owner, alice, mallory);
        Assert.True(await Client.GetGrain<IAccountGrain>(alice).BlockAsync(mallory));

        // The message still reaches the group (alice included: a group is not one-to-one), but names only the owner.
        var sent = await SendMentioningAsync(group, mallory, alice, owner);
        Assert.Equal(SendStatus.Sent, sent.Status);
        var flagged = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(owner).GetConversationAsync(group), e => e?.Mentioned == true);
        Assert.Equal(sent.Seq, flagged!.MentionSeq);
        var alices = await Eventually.ReturnsAsync(() => Client.GetGrain<IUserGrain>(alice).GetConversationAsync(group), e => e?.LastSeq == sent.Seq);
        Assert.Equal((false, 0L), (alices!.Mentioned, alices.MentionSeq));
        Assert.Equal([owner], (await Client.PullAllAsync(group, owner)).Single(m => m.Seq == sent.Seq).Mentions);
    }

    private Task<SendResult> SendMentioningAsync(string group, string sender, params string[] mentions) =>
        Client.Conversation(group).SendAsync(new SendRequest(sender, null, Ids.ClientMsgId(), MessageContent.FromText("@you"), Mentions: mentions));
}
