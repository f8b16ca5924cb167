using System.Diagnostics;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class ConnectionLifetimeTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private const int MaxMessagesToSlowReader = 20_000;

    [Fact]
    public async Task A_connection_that_never_logs_in_is_closed_after_the_login_timeout()
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        var watch = Stopwatch.StartNew();

        var frames = await raw.ReadUntilClosedAsync(EdgeFixture.LoginTimeout * 5);

        Assert.Equal(V1.ErrorCode.Timeout, V1.Error.Parser.ParseFrom(Assert.Single(frames).Body).Code);
        output.WriteLine($"closed after {watch.Elapsed.TotalSeconds:F1} s (login timeout {EdgeFixture.LoginTimeout.TotalSeconds} s)");
    }

    [Fact]
    public async Task A_logged_in_connection_that_goes_silent_is_closed_after_the_idle_timeout()
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(Ids.User("silent"), "s"));

        var frames = await raw.ReadUntilClosedAsync(EdgeFixture.IdleTimeout * 5);

        Assert.Equal(V1.ErrorCode.Timeout, V1.Error.Parser.ParseFrom(Assert.Single(frames, f => f.Op == V1.Op.Error).Body).Code);
    }

    [Fact]
    public async Task A_frame_trickled_a_byte_at_a_time_does_not_keep_a_connection_open_past_the_idle_timeout()
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(Ids.User("trickler"), "s"));
        var closing = raw.ReadUntilClosedAsync(EdgeFixture.IdleTimeout * 5);

        // A frame of 100 bytes, a byte every third of the idle timeout: bytes keep coming, a whole frame never does.
        var frame = RawConnection.Header(100, V1.Op.Ping, requestId: 4).Concat(new byte[100]).ToArray();
        for (var i = 0; i < frame.Length && !closing.IsCompleted; i++)
        {
            try
            {
                await raw.SendRawAsync(frame[i..(i + 1)]);
            }
            catch (IOException)
            {
                break;
            }

            await Task.WhenAny(closing, Task.Delay(EdgeFixture.IdleTimeout / 3));
        }

        var frames = await closing;
        Assert.Equal(V1.ErrorCode.Timeout, V1.Error.Parser.ParseFrom(Assert.Single(frames, f => f.Op == V1.Op.Error).Body).Code);
    }

    [Fact]
    public async Task Pings_keep_a_connection_open_past_the_idle_timeout()
    {
        await using var client = await fixture.ConnectAsync(Ids.User("pinger"));
        await Task.Delay(EdgeFixture.IdleTimeout * 2);

        Assert.Equal(1, client.ConnectionCount);
        Assert.True(await client.PingAsync() > 0);
    }

    [Fact]
    public async Task A_request_while_pushes_fill_the_queue_is_answered_and_the_connection_stays()
    {
        var (busy, sender) = (Ids.User("busy"), Ids.User("sender"));
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort, receiveBufferBytes: 4096);
        await raw.LoginAsync(fixture.Tokens.Issue(busy, "b"));
        await using var senderClient = await fixture.ConnectAsync(sender);

        // A phone on a weak network in a busy conversation: pushes pile up until the edge drops some (bounded in count and
        // time; it stops at the first drop, well before the slow-consumer timeout would give the phone up).
        // Random text: push frames are compressed, so repeated characters would hardly fill the socket's buffers. Pings,
        // as the phone's heartbeat, keep it from the idle timeout meanwhile.
        var dropped = await DroppedPushesAsync();
        var big = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(11_000));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var sent = 0;
        uint heartbeat = 100;
        while (await DroppedPushesAsync() == dropped && sent < MaxMessagesToSlowReader && DateTime.UtcNow < deadline)
        {
            await raw.SendAsync(V1.Op.Ping, heartbeat++, new V1.Ping());
            await Task.WhenAll(Enumerable.Range(0, 10).Select(_ => senderClient.SendTextAsync(GrainKeys.P2P(sender, busy), big)));
            sent += 10;
        }

        Assert.True(await DroppedPushesAsync() > dropped, $"no push was dropped after {sent} messages");

        // Its next request is answered in turn once it reads again, with the resync that makes up for the dropped pushes.
        await raw.SendAsync(V1.Op.Ping, 9, new V1.Ping { ClientTimeMs = 1 });
        var frames = new List<(V1.Op Op, uint RequestId, byte[] Body)>();
        while (!(frames.Any(f => f is { Op: V1.Op.Pong, RequestId: 9 }) && frames.Any(IsResync)) && frames.Count < MaxMessagesToSlowReader
            && await raw.ReadFrameAsync(TimeSpan.FromSeconds(10)) is { } frame)
        {
            frames.Add(frame);
        }

        Assert.Equal(9u, frames.Last(f => f.Op == V1.Op.Pong).RequestId);
        Assert.Contains(frames, IsResync);
        Assert.DoesNotContain(frames, f => f.Op == V1.Op.Error);
        await raw.PingAsync();

        static bool IsResync((V1.Op Op, uint RequestId, byte[] Body) frame) =>
            frame.Op == V1.Op.Push && V1.PushBatch.Parser.ParseFrom(frame.Body).Events.Any(e => e.Resync is not null);
    }

    private async Task<double> DroppedPushesAsync() =>
        (await PrometheusScrape.ReadAsync(fixture.Edge.Endpoints.HttpPort)).Value("im_edge_push_dropped_total{transport=\"tcp\"}");

    [Fact]
    public async Task A_reader_that_never_reads_is_dropped_without_slowing_other_connections()
    {
        var slow = Ids.User("slow");
        var sender = Ids.User("sender");
        var other = Ids.User("other");
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort, receiveBufferBytes: 4096);
        await raw.LoginAsync(fixture.Tokens.Issue(slow, "s"));
        await using var senderClient = await fixture.ConnectAsync(sender);
        await using var otherClient = await fixture.ConnectAsync(other);
        var baseline = await fixture.MetricAsync("im_edge_tcp_connections");

        // Large messages to the reader that never reads, until the edge gives up on it (bounded in count and time). The edge
        // closes it only when a push finds its queue still full after the slow-consumer timeout (2 s here), so the loop
        // must go on for longer than that once the queue is full: it paces itself rather than stopping at a count that a
        // fast machine sends within the timeout.
        var big = new string('x', 15_000);
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var sent = 0;
        var otherRoundTrips = 0;
        var closed = false;
        while (!closed && sent < MaxMessagesToSlowReader && DateTime.UtcNow < deadline)
        {
            await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => senderClient.SendTextAsync(GrainKeys.P2P(sender, slow), big)));
            sent += 20;

            // Meanwhile another connection is served as usual.
            await otherClient.PingAsync();
            otherRoundTrips++;
            closed = await fixture.MetricAsync("im_edge_tcp_connections") < baseline;
            await Task.Delay(TimeSpan.FromMilliseconds(50));
        }

        output.WriteLine($"sent {sent} messages of 15 KB to the non-reading client; closed: {closed}; other client's round trips meanwhile: {otherRoundTrips}");
        Assert.True(closed, "the edge never dropped the reader that does not read");
        Assert.Equal(1, otherClient.ConnectionCount);
        Assert.True(await otherClient.PingAsync() > 0);
    }
}
