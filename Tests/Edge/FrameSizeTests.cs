using Orleans.Im.Messages;
using Orleans.Im.Tests.Infrastructure;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// Frames the edge writes stay within the frame limit it announces at login, however large the messages: a client refuses
/// a larger frame and closes, then gets the same page again after reconnecting, forever.
/// </summary>
[Collection(EdgeGroup.Name)]
[Trait("Category", "Edge")]
public sealed class FrameSizeTests(EdgeFixture fixture, ITestOutputHelper output)
{
    private static readonly TimeSpan Patience = TimeSpan.FromSeconds(20);

    // Enough messages of the largest size to be past the SDK's own 1 MiB frame limit in one page of 200.
    private const int LargeMessages = 70;

    [Fact]
    public async Task A_page_of_large_messages_is_cut_to_the_frame_limit_and_the_rest_comes_with_the_next_pulls()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = await SendLargeAsync(alice, bob, LargeMessages);
        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(bob, "s"));

        // Oldest first from after_seq, going on from the last seq received, as the SDK does.
        var seqs = new List<long>();
        var pages = 0;
        while (seqs.Count < LargeMessages && pages++ < LargeMessages)
        {
            var page = await PullAsync(raw, conversation, seqs.LastOrDefault(), before: null);
            Assert.NotEmpty(page.Messages);
            seqs.AddRange(page.Messages.Select(m => m.Seq));
        }

        Assert.Equal(Enumerable.Range(1, LargeMessages).Select(i => (long)i), seqs);
        Assert.True(pages > 1, "one page held all the messages: the test proves nothing");

        // Newest first before before_seq: the page keeps the newest, still contiguous.
        var newest = await PullAsync(raw, conversation, 0, before: LargeMessages + 1);
        Assert.Equal(LargeMessages, newest.Messages[^1].Seq);
        Assert.Equal(Enumerable.Range(0, newest.Messages.Count).Select(i => newest.Messages[0].Seq + i), newest.Messages.Select(m => m.Seq));
        output.WriteLine($"{pages} pages after_seq; {newest.Messages.Count} messages in a page before_seq");
    }

    [Fact]
    public async Task The_sdk_delivers_a_conversation_of_large_messages_it_was_offline_for()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        await SendLargeAsync(alice, bob, LargeMessages);

        // Pulls pages of 200: unbounded, the first page is past the SDK's frame limit and it reconnects forever.
        await using var bobPhone = await fixture.ConnectAsync(bob);
        var delivered = await bobPhone.TakeAsync(LargeMessages, Patience);

        Assert.Equal(Enumerable.Range(1, LargeMessages).Select(i => (long)i), delivered.Select(m => m.Seq));
        Assert.Equal(1, bobPhone.ConnectionCount);
    }

    [Fact]
    public async Task A_client_that_asks_for_large_pages_and_never_reads_is_closed_once_its_answers_wait_past_the_slow_consumer_timeout()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversation = await SendLargeAsync(alice, bob, 10);

        // Room for many more replies by count than the pulls below: their bytes fill the queue, the edge stops serving the
        // client's requests (a client that reads would get room), and the slow-consumer timeout closes the connection.
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__OutboundQueueCapacity"] = "10000",
            ["IM__Edge__MaxQueuedReplyBytes"] = (256 * 1024).ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["IM__Edge__SlowConsumerTimeout"] = "00:00:02",
        });
        await using var raw = await RawConnection.OpenAsync(edge.Endpoints.TcpPort, receiveBufferBytes: 4096);
        await raw.LoginAsync(fixture.Tokens.Issue(bob, "s"));
        Assert.Equal(1, await ConnectionsAsync(edge.Endpoints.HttpPort));

        // 200 pages of ~48 KB (three messages of 16 KB each, the frame limit): ~10 MB, far more than the socket takes.
        for (uint request = 10; request < 210; request++)
        {
            try
            {
                await raw.SendAsync(V1.Op.Pull, request, new V1.PullRequest { ConversationId = conversation, Limit = 200 });
            }
            catch (IOException)
            {
                // Closed while we were still asking: what the test waits for.
                break;
            }
        }

        var open = await Eventually.ReturnsAsync(() => ConnectionsAsync(edge.Endpoints.HttpPort), c => c == 0, Patience);
        Assert.Equal(0, open);
    }

    [Fact]
    public async Task A_frame_of_megabytes_is_read_whole_when_the_limit_allows_it()
    {
        // The frame limit raised past the socket transport's 1 MiB read buffer (the pipe pauses its writer there): a frame
        // that big still arrives whole, read while its start is examined and not consumed.
        const int FrameBytes = 4 * 1024 * 1024;
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__MaxFrameBytes"] = FrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        await using var raw = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(Ids.User("big"), "s"));

        // A ping of 2 MiB: an unknown length-delimited field (15) that the parser skips.
        const int Padding = 2 * 1024 * 1024;
        var body = new List<byte> { (15 << 3) | 2 };
        for (var length = (uint)Padding; ; length >>= 7)
        {
            body.Add((byte)(length < 0x80 ? length : (length & 0x7F) | 0x80));
            if (length < 0x80)
            {
                break;
            }
        }

        body.AddRange(new byte[Padding]);
        await raw.SendRawAsync([.. RawConnection.Header((uint)body.Count, V1.Op.Ping, requestId: 5), .. body]);

        var answer = await raw.ReadAnswerAsync(Patience);
        Assert.Equal((V1.Op.Pong, 5u), (answer?.Op, answer?.RequestId));
    }

    [Fact]
    public async Task A_sync_of_more_entries_than_a_frame_holds_comes_in_pages_and_the_sdk_follows_them()
    {
        // An edge whose frames hold 1 KiB: a few conversation entries each.
        const int FrameBytes = 1024;
        const int Conversations = 30;
        await using var edge = await fixture.Cluster.StartEdgeAsync(new Dictionary<string, string>(fixture.AuthSettings)
        {
            ["IM__Edge__MaxFrameBytes"] = FrameBytes.ToString(System.Globalization.CultureInfo.InvariantCulture),
        });
        var bob = Ids.User("bob");
        var expected = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < Conversations; i++)
        {
            var friend = Ids.User($"friend{i}");
            var conversation = GrainKeys.P2P(friend, bob);
            var sent = await fixture.Orleans.GetGrain<Orleans.Im.Conversations.IConversationGrain>(conversation).SendAsync(
                new SendRequest(friend, "phone", Ids.ClientMsgId(), MessageContent.FromText($"hello from friend {i}, with a few more words")));
            Assert.Equal(SendStatus.Sent, sent.Status);
            expected.Add(conversation);
        }

        // Raw: pages within the limit, each going on from the last entry's version, until has_more is off.
        await using var raw = await RawConnection.OpenAsync(edge.Endpoints.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(bob, "s"));
        var seen = new List<string>();
        var (version, pages) = (0L, 0);
        V1.SyncResponse page;
        do
        {
            await raw.SendAsync(V1.Op.Sync, 7, new V1.SyncRequest { SinceVersion = version });
            var answer = await raw.ReadAnswerAsync(Patience);
            Assert.Equal(V1.Op.SyncOk, answer?.Op);
            Assert.True(answer!.Value.Body.Length <= FrameBytes, $"a sync answer of {answer.Value.Body.Length} bytes");
            page = V1.SyncResponse.Parser.ParseFrom(answer.Value.Body);
            Assert.NotEmpty(page.Changed);
            seen.AddRange(page.Changed.Select(e => e.ConversationId));
            version = page.Version;
        }
        while (page.HasMore && ++pages < Conversations);

        Assert.True(pages > 1, "one answer held every entry: the test proves nothing");
        Assert.Equal(expected.Order(StringComparer.Ordinal), seen.Order(StringComparer.Ordinal));

        // The SDK: its first catch-up follows the pages and delivers every conversation's message, without waiting for its
        // next periodic catch-up (a minute).
        await using var bobPhone = fixture.NewClient(bob, port: edge.Endpoints.TcpPort);
        await bobPhone.ConnectAsync();
        var delivered = await bobPhone.TakeAsync(Conversations, Patience);
        Assert.Equal(expected.Order(StringComparer.Ordinal), delivered.Select(m => m.ConversationId).Order(StringComparer.Ordinal));
    }

    [Fact]
    public async Task A_late_joiner_of_a_room_of_large_messages_gets_the_newest_that_fit()
    {
        const int Large = 8; // ~128 KB of recent messages: twice the frame limit
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        await using var speaker = await fixture.ConnectAsync(Ids.User("speaker"));
        await speaker.JoinRoomAsync(roomId);
        for (var i = 0; i < Large; i++)
        {
            await speaker.SendTextAsync(roomId, $"{i}:{LargeText()}");
        }

        await using var raw = await RawConnection.OpenAsync(fixture.TcpPort);
        await raw.LoginAsync(fixture.Tokens.Issue(Ids.User("late"), "s"));
        await raw.SendAsync(V1.Op.RoomJoin, 9, new V1.RoomJoinRequest { RoomId = roomId });
        var answer = await raw.ReadAnswerAsync(Patience);

        Assert.Equal(V1.Op.RoomJoinOk, answer?.Op);
        Assert.True(answer!.Value.Body.Length <= EdgeFixture.MaxFrameBytes, $"a room join answer of {answer.Value.Body.Length} bytes");
        var joined = V1.RoomJoinResponse.Parser.ParseFrom(answer.Value.Body);
        Assert.InRange(joined.Recent.Count, 1, Large - 1);
        Assert.StartsWith($"{Large - 1}:", joined.Recent[^1].Content.Text, StringComparison.Ordinal);
    }

    private static async Task<long> ConnectionsAsync(int httpPort) =>
        (long)(await PrometheusScrape.ReadAsync(httpPort)).Value("im_edge_tcp_connections");

    private async Task<string> SendLargeAsync(string from, string to, int count)
    {
        var conversation = GrainKeys.P2P(from, to);
        await using var sender = await fixture.ConnectAsync(from);
        for (var i = 0; i < count; i++)
        {
            Assert.Equal(V1.SendStatus.Sent, (await sender.SendTextAsync(conversation, LargeText())).Status);
        }

        return conversation;
    }

    private static async Task<V1.PullResponse> PullAsync(RawConnection raw, string conversation, long after, long? before)
    {
        var request = new V1.PullRequest { ConversationId = conversation, AfterSeq = after, Limit = MessageLimits.MaxPullLimit };
        if (before is { } seq)
        {
            request.BeforeSeq = seq;
        }

        await raw.SendAsync(V1.Op.Pull, 5, request);
        var answer = await raw.ReadAnswerAsync(Patience);
        Assert.Equal(V1.Op.PullOk, answer?.Op);
        Assert.True(answer!.Value.Body.Length <= EdgeFixture.MaxFrameBytes, $"a page of {answer.Value.Body.Length} bytes");
        return V1.PullResponse.Parser.ParseFrom(answer.Value.Body);
    }

    /// <summary>A text of nearly the largest size, random so that it does not compress away.</summary>
    private static string LargeText()
    {
        const string Alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
        return string.Create(MessageLimits.MaxContentBytes - 64, 0, static (span, _) =>
        {
            for (var i = 0; i < span.Length; i++)
            {
                span[i] = Alphabet[Random.Shared.Next(Alphabet.Length)];
            }
        });
    }
}
