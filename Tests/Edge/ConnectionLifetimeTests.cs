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
    public async Task Pings_keep_a_connection_open_past_the_idle_timeout()
    {
        await using var client = await fixture.ConnectAsync(Ids.User("pinger"));
        await Task.Delay(EdgeFixture.IdleTimeout * 2);

        Assert.Equal(1, client.ConnectionCount);
        Assert.True(await client.PingAsync() > 0);
    }

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
