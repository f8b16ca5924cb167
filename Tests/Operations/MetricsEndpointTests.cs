using Orleans.Im.Protocol.V1;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Operations;

/// <summary>
/// Drives real traffic through a real edge host and silo (TCP and SignalR), then reads both hosts' <c>/metrics</c> and
/// checks that each figure the dashboards and alerts use moved by what was done. Other tests share the hosts, so
/// counters are compared with a scrape taken before.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class MetricsEndpointTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private const int Messages = 20;

    // Far more than the kernel's socket buffers and the edge's queue hold; the loop ends at the first dropped push.
    private const int MaxMessagesToSlowReader = 20_000;

    [Fact]
    public async Task Traffic_shows_on_the_edge_and_silo_metrics()
    {
        var edgePort = fixture.Edge.Endpoints.HttpPort;
        var siloPort = fixture.Silo.Endpoints.HttpPort;
        var edgeBefore = await PrometheusScrape.ReadAsync(edgePort);
        var siloBefore = await PrometheusScrape.ReadAsync(siloPort);

        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        var conversationId = GrainKeys.P2P(alice, bob);
        await using var alicePhone = await fixture.ConnectAsync(alice);
        await using var bobPhone = await fixture.ConnectAsync(bob);
        await using var bobBrowser = await HubClient.ConnectAsync(edgePort, fixture.Tokens.Issue(bob, "browser-session"), messagePack: false);
        for (var i = 0; i < Messages; i++)
        {
            Assert.Equal(SendStatus.Sent, (await alicePhone.SendTextAsync(conversationId, $"metered {i}")).Status);
        }

        Assert.Equal(Messages, (await bobPhone.TakeAsync(Messages)).Count);
        await bobBrowser.WaitForAsync(e => e.Type == "message" && e.Seq == Messages);

        // Pushes are counted when written, just after the device could read them: ask until they show.
        var edge = await Eventually.ReturnsAsync(() => PrometheusScrape.ReadAsync(edgePort),
            s => Increase(s, edgeBefore, "im_edge_messages_pushed_total{transport=\"tcp\"}") >= Messages
                 && Increase(s, edgeBefore, "im_edge_messages_pushed_total{transport=\"websockets\"}") >= Messages);
        // The firehose takes stored messages to Redis in the background (acks never wait for it): ask until they show too.
        var silo = await Eventually.ReturnsAsync(() => PrometheusScrape.ReadAsync(siloPort),
            s => Increase(s, siloBefore, "im_firehose_published_total") >= Messages);

        // Connections by transport, opened, online users.
        output.WriteLine(string.Join(", ", edge.Samples.Where(s => s.Key.StartsWith("im_edge_connections", StringComparison.Ordinal)).Select(s => $"{s.Key} {s.Value}")));
        Assert.True(edge.Value("im_edge_connections{transport=\"tcp\"}") >= 2);
        Assert.True(edge.Value("im_edge_connections{transport=\"websockets\"}") >= 1);
        Assert.True(Increase(edge, edgeBefore, "im_edge_connections_opened_total{transport=\"tcp\"}") >= 2);
        Assert.True(Increase(edge, edgeBefore, "im_edge_connections_opened_total{transport=\"websockets\"}") >= 1);
        Assert.True(edge.Value("im_edge_online_users") >= 2);
        Assert.True(edge.Value("im_edge_tcp_connections") >= 2);

        // Frames and messages in and out.
        Assert.True(Increase(edge, edgeBefore, "im_edge_frames_received_total{transport=\"tcp\"}") >= Messages + 2); // sends and logins
        Assert.True(Increase(edge, edgeBefore, "im_edge_frames_sent_total{transport=\"tcp\"}") >= Messages + 2); // acks and pushes
        Assert.True(Increase(edge, edgeBefore, "im_edge_frames_sent_total{transport=\"websockets\"}") >= 1);
        Assert.Equal(Messages, Increase(edge, edgeBefore, "im_edge_messages_received_total{status=\"sent\",transport=\"tcp\"}"));
        Assert.True(Increase(edge, edgeBefore, "im_edge_messages_pushed_total{transport=\"tcp\"}") >= Messages);

        // Send→ack latency: one observation per acked send, buckets cumulative.
        Assert.Equal("histogram", edge.Types["im_edge_send_ack_seconds"]);
        Assert.Equal(Messages, Increase(edge, edgeBefore, "im_edge_send_ack_seconds_count{transport=\"tcp\"}"));
        Assert.True(Increase(edge, edgeBefore, "im_edge_send_ack_seconds_sum{transport=\"tcp\"}") > 0);
        AssertCumulative(edge, "im_edge_send_ack_seconds", "transport=\"tcp\"");

        // Push queues and drops are exported (a queue drains at once here; the next test fills one).
        Assert.Equal("gauge", edge.Types["im_edge_push_queue_length"]);
        Assert.Equal("gauge", edge.Types["im_edge_push_queue_longest"]);
        Assert.Equal("counter", edge.Types["im_edge_push_dropped_total"]);
        Assert.Equal(0, edge.Value("im_edge_draining"));
        Assert.True(edge.Value("process_open_fds") > 0);

        // Group commits on the silo: every message went through one batch of the message log.
        Assert.Equal("histogram", silo.Types["im_storage_group_commit_batch_size"]);
        Assert.True(Increase(silo, siloBefore, "im_storage_group_commit_batch_size_sum{store=\"messages\"}") >= Messages);
        Assert.True(Increase(silo, siloBefore, "im_storage_group_commit_seconds_count{store=\"messages\"}") >= 1);
        Assert.True(Increase(silo, siloBefore, "im_storage_group_commit_items_total{store=\"messages\"}") >= Messages);
        AssertCumulative(silo, "im_storage_group_commit_seconds", "store=\"messages\"");
        Assert.True(silo.Samples.ContainsKey("im_storage_group_commit_queue_length{store=\"messages\"}"));
        Assert.True(silo.Value("process_working_set_bytes") > 0);

        // The firehose: every stored message was published (the backlog is what Redis has not taken yet).
        Assert.Equal("gauge", silo.Types["im_firehose_backlog"]);
        Assert.True(Increase(silo, siloBefore, "im_firehose_published_total") >= Messages);
        Assert.Equal("counter", silo.Types["im_firehose_dropped_total"]);
        output.WriteLine($"send→ack mean {edge.Value("im_edge_send_ack_seconds_sum{transport=\"tcp\"}") / edge.Value("im_edge_send_ack_seconds_count{transport=\"tcp\"}") * 1000:F2} ms");
    }

    [Fact]
    public async Task A_device_that_stops_reading_shows_as_dropped_pushes()
    {
        var edgePort = fixture.Edge.Endpoints.HttpPort;
        var before = await PrometheusScrape.ReadAsync(edgePort);
        var slow = Ids.User("slow");
        var sender = Ids.User("sender");
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort, receiveBufferBytes: 4096);
        await raw.LoginAsync(fixture.Tokens.Issue(slow, "s"));
        await using var senderClient = await fixture.ConnectAsync(sender);

        // Large messages (15 KB) to a device that pings (so it is not idle) but never reads, until its queue overflows.
        // Bounded in count and time; the socket buffers fill first (up to the kernel's largest send buffer, megabytes),
        // then the edge's queue of 32.
        // Random text: push frames are compressed, so repeated characters would hardly fill anything.
        var big = Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(11_000));
        var deadline = DateTime.UtcNow.AddSeconds(60);
        var dropped = 0.0;
        var sent = 0;
        uint ping = 100;
        var now = before;
        var closedByEdge = false;
        while (dropped == 0 && sent < MaxMessagesToSlowReader && DateTime.UtcNow < deadline)
        {
            try
            {
                if (!closedByEdge)
                {
                    await raw.SendAsync(V1.Op.Ping, ping++, new V1.Ping());
                }
            }
            catch (IOException)
            {
                // The edge gave up on the device (its queue full for longer than the slow-consumer timeout, on a slow
                // machine; a full run once got here): the pushes it dropped first are counted all the same.
                closedByEdge = true;
            }

            await Task.WhenAll(Enumerable.Range(0, 20).Select(_ => senderClient.SendTextAsync(GrainKeys.P2P(slow, sender), big)));
            sent += 20;
            now = await PrometheusScrape.ReadAsync(edgePort);
            dropped = Increase(now, before, "im_edge_push_dropped_total{transport=\"tcp\"}");
        }

        var (queued, longest) = (now.Value("im_edge_push_queue_length"), now.Value("im_edge_push_queue_longest"));
        output.WriteLine($"sent {sent} messages of 15 KB before a push was dropped ({dropped} dropped); queued {queued}, longest queue {longest}");
        Assert.True(dropped > 0);

        // The device's queue is full and stays so (it never reads): the queue gauges show it, unless the edge has already
        // given up on the device (full for longer than the slow-consumer timeout, on a slow machine) and its queue is gone.
        if (Increase(now, before, "im_edge_slow_consumers_closed_total{transport=\"tcp\"}") == 0)
        {
            Assert.True(longest >= EdgeFixture.OutboundQueueCapacity / 2, $"longest queue {longest}");
            Assert.True(queued >= EdgeFixture.OutboundQueueCapacity / 2, $"queued {queued}");
        }
    }

    private static double Increase(PrometheusScrape after, PrometheusScrape before, string series) => after.Value(series) - before.Value(series);

    private static void AssertCumulative(PrometheusScrape scrape, string histogram, string labels)
    {
        var buckets = scrape.Samples.Where(s => s.Key.StartsWith(histogram + "_bucket{" + labels + ",le=", StringComparison.Ordinal)).ToList();
        Assert.True(buckets.Count > 2);
        var values = buckets.Select(b => b.Value).ToList();
        Assert.Equal(values.Order(), values);
        Assert.Equal(scrape.Value($"{histogram}_count{{{labels}}}"), scrape.Value($"{histogram}_bucket{{{labels},le=\"+Inf\"}}"));
    }
}
