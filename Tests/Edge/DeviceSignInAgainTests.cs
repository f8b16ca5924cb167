using Orleans.Im.Tests.Infrastructure;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>A device that signs in again while its older connection is still open (another phone with the same device id).</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class DeviceSignInAgainTests(EdgeFixture fixture)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(15);

    [Fact]
    public async Task The_older_connection_is_kicked_and_closed_and_the_newer_one_is_served()
    {
        var (user, sender) = (Ids.User("twice"), Ids.User("sender"));
        await using var first = await RawConnection.OpenAsync(fixture.TcpPort);
        await first.LoginAsync(fixture.Tokens.Issue(user, "session-1"), deviceId: "phone");
        await using var second = await RawConnection.OpenAsync(fixture.TcpPort);
        await second.LoginAsync(fixture.Tokens.Issue(user, "session-2"), deviceId: "phone");

        // Before, both stayed open and served: both were pushed the user's messages and both could send.
        var frames = await first.ReadUntilClosedAsync(Patience);
        var kick = frames.Where(f => f.Op == V1.Op.Push).SelectMany(f => V1.PushBatch.Parser.ParseFrom(f.Body).Events).Single(e => e.Kick is not null);
        Assert.Equal("signed in again with this device id", kick.Kick.Reason);

        await using var from = await fixture.ConnectAsync(sender);
        await from.SendTextAsync(GrainKeys.P2P(sender, user), "to the newer connection");
        await second.SendAsync(V1.Op.Ping, 9, new V1.Ping { ClientTimeMs = 1 });
        var pushed = new List<V1.Event>();
        var deadline = DateTime.UtcNow + Patience;
        while (!pushed.Any(e => e.Message?.Content?.Text == "to the newer connection") && DateTime.UtcNow < deadline)
        {
            if (await second.ReadFrameAsync(deadline - DateTime.UtcNow) is { Op: V1.Op.Push } frame)
            {
                pushed.AddRange(V1.PushBatch.Parser.ParseFrom(frame.Body).Events);
            }
        }

        Assert.Contains(pushed, e => e.Message?.Content?.Text == "to the newer connection");
        Assert.DoesNotContain(pushed, e => e.Kick is not null);
    }
}
