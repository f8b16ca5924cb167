using Orleans.Im.EdgeHost;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>Whatever a client sends, the edge answers with an error frame where it can and closes; it never falls over.</summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class MalformedInputTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(10);

    private static readonly string[] Kinds = ["random bytes", "over the size limit", "over the size limit before login", "unsupported version", "unknown flags",
        "body that does not parse", "unknown operation", "request before login", "bad token", "bad compressed body",
        "compressed before login"];

    public static TheoryData<string> Cases => new(Kinds);

    [Theory]
    [MemberData(nameof(Cases))]
    public async Task Malformed_input_gets_an_error_frame_and_a_close(string kind)
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        var expected = await SendMalformedAsync(raw, kind);

        var frames = await raw.ReadUntilClosedAsync(Patience);

        var error = Assert.Single(frames, f => f.Op == V1.Op.Error);
        Assert.Equal(expected, V1.Error.Parser.ParseFrom(error.Body).Code);
        Assert.Equal(V1.Op.Error, frames[^1].Op);
    }

    [Fact]
    public async Task Requests_before_a_bad_frame_in_the_same_read_are_answered_before_its_error()
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        var login = new V1.LoginRequest { Token = fixture.Tokens.Issue(Ids.User("pipelined"), "s"), DeviceId = "raw", Platform = "test", ProtocolVersion = 1 };

        // One write: a login, a ping, and a frame of a version the edge does not speak.
        await raw.SendRawAsync([.. RawConnection.Frame(V1.Op.Login, 1, login), .. RawConnection.Frame(V1.Op.Ping, 2, new V1.Ping()),
            .. RawConnection.Header(0, V1.Op.Ping, requestId: 3, version: 9)]);

        var frames = await raw.ReadUntilClosedAsync(Patience);
        Assert.Equal([(V1.Op.LoginOk, 1u), (V1.Op.Pong, 2u), (V1.Op.Error, 3u)],
            frames.Where(f => f.Op != V1.Op.Push).Select(f => (f.Op, f.RequestId)));
    }

    [Fact]
    public async Task Far_more_requests_at_once_than_the_queue_holds_are_all_answered_in_order_to_a_client_that_reads_late()
    {
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        var login = new V1.LoginRequest { Token = fixture.Tokens.Issue(Ids.User("pipeliner"), "s"), DeviceId = "raw", Platform = "test", ProtocolVersion = 1 };
        // Many times what one read takes, and than the edge's outbound queue holds: the edge takes them a read at a time,
        // and waits for its writer rather than closing the connection as a slow consumer.
        const int Pings = 16 * EdgeHost.Tcp.TcpConnection.MaxFramesPerRead;
        Assert.True(Pings > 4 * EdgeFixture.OutboundQueueCapacity);

        var frames = new List<byte>(RawConnection.Frame(V1.Op.Login, 1, login));
        for (uint i = 0; i < Pings; i++)
        {
            frames.AddRange(RawConnection.Frame(V1.Op.Ping, 2 + i, new V1.Ping()));
        }

        await raw.SendRawAsync([.. frames]);
        // A client busy elsewhere for a moment (well within the slow-consumer timeout) before it reads.
        await Task.Delay(TimeSpan.FromMilliseconds(300));

        var answers = new List<(V1.Op Op, uint RequestId)>();
        while (answers.Count < Pings + 1 && await raw.ReadAnswerAsync(Patience) is { } answer)
        {
            answers.Add((answer.Op, answer.RequestId));
        }

        Assert.Equal([(V1.Op.LoginOk, 1u), .. Enumerable.Range(2, Pings).Select(id => (V1.Op.Pong, (uint)id))], answers);
    }

    [Fact]
    public async Task A_truncated_frame_followed_by_a_close_harms_nothing()
    {
        await using (var raw = await RawConnection.OpenAsync(fixture.TcpPort))
        {
            await raw.SendRawAsync([.. RawConnection.Header(100, V1.Op.Login), 1, 2, 3]);
        }

        await using var client = await fixture.ConnectAsync(Ids.User("after"));
        Assert.True(await client.PingAsync() > 0);
    }

    [Fact]
    public async Task After_1000_malformed_connections_the_edge_serves_a_normal_client_and_its_memory_returns_to_baseline()
    {
        const int Connections = 1000;
        await using (var warmup = await fixture.ConnectAsync(Ids.User("warmup")))
        {
            await warmup.PingAsync();
        }

        var baselineConnections = await fixture.MetricAsync("im_edge_tcp_connections");
        var baselineMemory = await fixture.MetricAsync("process_working_set_bytes");
        var baselineHeap = await fixture.MetricAsync("dotnet_gc_heap_bytes");
        var done = 0;
        var deadline = DateTime.UtcNow.AddMinutes(3);

        // Bounded in count and time; 8 at a time so the loop stays within the machine's means.
        for (var batch = 0; batch < Connections / 8 && DateTime.UtcNow < deadline; batch++)
        {
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async i =>
            {
                await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
                await SendMalformedAsync(raw, Kinds[(batch * 8 + i) % Kinds.Length]);
                await raw.ReadUntilClosedAsync(Patience);
                Interlocked.Increment(ref done);
            }));
        }

        var connections = await Eventually.ReturnsAsync(() => fixture.MetricAsync("im_edge_tcp_connections"), c => c <= baselineConnections);
        var memory = await fixture.MetricAsync("process_working_set_bytes");
        var heap = await fixture.MetricAsync("dotnet_gc_heap_bytes");
        output.WriteLine($"after {done} malformed connections: edge working set {baselineMemory / 1048576.0:F1} -> {memory / 1048576.0:F1} MiB, "
            + $"managed heap {baselineHeap / 1048576.0:F1} -> {heap / 1048576.0:F1} MiB, open connections {baselineConnections} -> {connections}");

        Assert.Equal(Connections, done);
        Assert.True(connections <= baselineConnections, $"{connections} connections left open (baseline {baselineConnections})");
        Assert.True(memory < baselineMemory + (64L << 20), $"working set grew from {baselineMemory} to {memory} bytes");
        var alice = Ids.User("alice");
        var bob = Ids.User("bob");
        await using var client = await fixture.ConnectAsync(alice);
        Assert.Equal(1, (await client.SendTextAsync(GrainKeys.P2P(alice, bob), "still serving")).Seq);
    }

    private async Task<V1.ErrorCode> SendMalformedAsync(RawConnection raw, string kind)
    {
        var token = fixture.Tokens.Issue(Ids.User("raw"), "raw");
        switch (kind)
        {
            case "random bytes":
                await raw.SendRawAsync([0xDE, 0xAD, 0xBE, 0xEF, 0x42, 0x00, 0x13, 0x37, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
                return V1.ErrorCode.UnsupportedVersion;
            case "over the size limit":
                await raw.SendRawAsync(RawConnection.Header(EdgeFixture.MaxFrameBytes + 1, V1.Op.Login));
                return V1.ErrorCode.TooLarge;
            case "over the size limit before login":
                // Within the frame limit, not within a login's: refused at its header, not buffered until it is whole.
                await raw.SendRawAsync(RawConnection.Header(EdgeOptions.MaxFrameBytesBeforeLogin + 1, V1.Op.Login));
                return V1.ErrorCode.TooLarge;
            case "unsupported version":
                await raw.SendRawAsync(RawConnection.Header(0, V1.Op.Ping, version: 9));
                return V1.ErrorCode.UnsupportedVersion;
            case "unknown flags":
                await raw.SendRawAsync(RawConnection.Header(0, V1.Op.Ping, flags: (FrameFlags)0x80));
                return V1.ErrorCode.BadRequest;
            case "body that does not parse":
                await raw.SendRawAsync([.. RawConnection.Header(4, V1.Op.Login), 0xFF, 0xFF, 0xFF, 0xFF]);
                return V1.ErrorCode.BadRequest;
            case "unknown operation":
                await raw.LoginAsync(token);
                await raw.SendRawAsync(RawConnection.Header(0, (V1.Op)999));
                return V1.ErrorCode.UnknownOperation;
            case "request before login":
                await raw.SendAsync(V1.Op.Send, 7, new V1.SendRequest { ConversationId = "p2p:a:b", ClientMsgId = "x" });
                return V1.ErrorCode.Unauthenticated;
            case "bad token":
                await raw.SendAsync(V1.Op.Login, 1, new V1.LoginRequest { Token = token[..^2] + "xx", DeviceId = "d", Platform = "test" });
                return V1.ErrorCode.Unauthenticated;
            case "compressed before login":
                // A valid compressed ping: inflating is refused to whoever has not logged in.
                var compressed = FrameCompression.Compress([]);
                await raw.SendRawAsync([.. RawConnection.Header((uint)compressed.Length, V1.Op.Ping, flags: FrameFlags.Deflate), .. compressed]);
                return V1.ErrorCode.BadRequest;
            default:
                // Block type 3 is reserved in DEFLATE: not a compressed body.
                await raw.LoginAsync(token);
                await raw.SendRawAsync([.. RawConnection.Header(3, V1.Op.Ping, flags: FrameFlags.Deflate), 0xFF, 0xFF, 0xFF]);
                return V1.ErrorCode.BadRequest;
        }
    }
}
