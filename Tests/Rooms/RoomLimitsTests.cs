using System.Diagnostics;
using Orleans.Im.Messages;
using Orleans.Im.Rooms;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Rooms;

/// <summary>A room's own limits: its send rate as a whole, what a room send may carry, and retries after a leave.</summary>
[Collection(ClusterGroup.Name)]
[Trait("Category", "Cluster")]
public sealed class RoomLimitsTests(ClusterFixture fixture)
{
    [Fact]
    public async Task A_room_takes_at_most_its_own_rate_whatever_each_member_may_send()
    {
        var options = new RoomOptions();
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var members = Enumerable.Range(0, 2 * options.RoomSendBurst / options.SendBurst).Select(i => Ids.User($"m{i}")).ToArray();
        foreach (var member in members)
        {
            Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(member, null)).Status);
        }

        // Every member within their own burst, twice the room's burst in all.
        var clock = Stopwatch.StartNew();
        var results = await Task.WhenAll(members.SelectMany(m => Enumerable.Range(0, options.SendBurst).Select(i => room.SendAsync(Text(m, $"#{i}")))));
        var elapsed = clock.Elapsed;

        // The room's burst, and what its rate gave back while the sends came in (the silo's clock is real time here).
        var sent = results.Count(r => r.Status == SendStatus.Sent);
        Assert.InRange(sent, options.RoomSendBurst, options.RoomSendBurst + (int)Math.Ceiling(elapsed.TotalSeconds * options.RoomSendRatePerSecond) + 1);
        Assert.All(results.Where(r => r.Status != SendStatus.Sent), r => Assert.Equal((SendStatus.RateLimited, "the room is busy; slow down"), (r.Status, r.Error)));
        if (elapsed < TimeSpan.FromSeconds(1))
        {
            Assert.Contains(results, r => r.Status == SendStatus.RateLimited);
        }
    }

    [Fact]
    public async Task A_room_send_mentions_nobody_and_its_retry_after_a_leave_is_answered_as_sent()
    {
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(alice, null)).Status);
        Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(bob, null)).Status);

        // Mentions are a group's: refused rather than dropped without a word.
        var mentioning = await room.SendAsync(Text(alice, "@bob hi") with { Mentions = [bob] });
        Assert.Equal(SendStatus.Invalid, mentioning.Status);

        // A reply names a message this room gave out; a seq beyond them would quote whatever comes there later.
        var said = await room.SendAsync(Text(alice, "anyone here?"));
        Assert.Equal(SendStatus.Sent, (await room.SendAsync(Text(bob, "yes") with { Content = MessageContent.FromText("yes") with { ReplyToSeq = said.Seq } })).Status);
        Assert.Equal(SendStatus.Invalid, (await room.SendAsync(Text(bob, "to what?") with { Content = MessageContent.FromText("to what?") with { ReplyToSeq = said.Seq + 5 } })).Status);

        // Sent, its answer lost, the sender leaves, the client retries: it went out, and is answered so.
        var request = Text(alice, "bye all");
        var sent = await room.SendAsync(request);
        Assert.Equal(SendStatus.Sent, sent.Status);
        Assert.Equal(AccessStatus.Ok, await room.LeaveAsync(alice));
        var retried = await room.SendAsync(request);
        Assert.Equal((SendStatus.Duplicate, sent.Seq), (retried.Status, retried.Seq));
        Assert.Equal(SendStatus.NoAccess, (await room.SendAsync(Text(alice, "a new one"))).Status);
    }

    [Fact]
    public async Task Typing_in_a_room_takes_none_of_the_send_rate_nor_a_place_among_recent_messages_and_call_signals_are_refused()
    {
        var options = new RoomOptions();
        var room = fixture.Client.GetGrain<IRoomGrain>(GrainKeys.Room(Guid.NewGuid().ToString("N")));
        var alice = Ids.User("alice");
        Assert.Equal(AccessStatus.Ok, (await room.JoinAsync(alice, null)).Status);

        // One per keystroke, far past the sender's burst: all accepted (most dropped), and a message still goes out.
        for (var key = 0; key < 3 * options.SendBurst; key++)
        {
            var typing = await room.SendAsync(new SendRequest(alice, "test", Ids.ClientMsgId(), TypingIndicator.Content, MessageClass.Instant));
            Assert.Equal((SendStatus.Sent, 0L), (typing.Status, typing.Seq));
        }

        var said = await room.SendAsync(Text(alice, "hello"));
        Assert.Equal((SendStatus.Sent, 1L), (said.Status, said.Seq));

        // A late joiner is given the messages, not the typing.
        var joined = await room.JoinAsync(Ids.User("bob"), null);
        Assert.Equal(["hello"], joined.Recent.Select(m => m.Content?.Text));

        var call = new MessageContent(ContentType.Custom, CustomType: CallSignal.CustomType, CustomData: "{}");
        Assert.Equal(SendStatus.Invalid, (await room.SendAsync(new SendRequest(alice, "test", Ids.ClientMsgId(), call, MessageClass.Instant))).Status);
    }

    private static SendRequest Text(string senderId, string text) =>
        new(senderId, "test", Ids.ClientMsgId(), MessageContent.FromText(text), MessageClass.Instant);
}
