using System.Buffers;
using Google.Protobuf;
using Orleans.Im.Protocol.Framing;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Protocol;

[Trait("Category", "Unit")]
public sealed class FramingTests
{
    private const int Limit = 64 * 1024;

    [Fact]
    public void A_written_frame_parses_back_whole_and_the_buffer_moves_past_it()
    {
        var ping = new V1.Ping { ClientTimeMs = 123 };
        var bytes = Write(V1.Op.Ping, 42, ping).Concat(Write(V1.Op.Ping, 43, ping)).ToArray();
        var buffer = new ReadOnlySequence<byte>(bytes);

        Assert.Equal(FrameParseStatus.Complete, FrameParser.TryParse(ref buffer, Limit, out var header, out var body));

        Assert.Equal((V1.Op.Ping, 42u, FrameHeader.CurrentVersion), ((V1.Op)header.Operation, header.RequestId, header.Version));
        Assert.Equal(ping, V1.Ping.Parser.ParseFrom(body));
        Assert.Equal(bytes.Length / 2, buffer.Length);
    }

    [Fact]
    public void Every_split_of_a_frame_across_segments_parses_the_same()
    {
        var bytes = Write(V1.Op.Send, 7, new V1.SendRequest { ConversationId = "p2p:a:b", ClientMsgId = "c1", Content = new V1.Content { Text = "hello" } });
        for (var split = 0; split <= bytes.Length; split++)
        {
            var buffer = Segments(bytes[..split], bytes[split..]);
            Assert.Equal(FrameParseStatus.Complete, FrameParser.TryParse(ref buffer, Limit, out var header, out var body));
            Assert.Equal(7u, header.RequestId);
            Assert.Equal("hello", V1.SendRequest.Parser.ParseFrom(body).Content.Text);
        }
    }

    [Fact]
    public void Any_prefix_of_a_frame_is_incomplete_and_leaves_the_buffer_alone()
    {
        var bytes = Write(V1.Op.Ping, 1, new V1.Ping { ClientTimeMs = 5 });
        for (var length = 0; length < bytes.Length; length++)
        {
            var buffer = new ReadOnlySequence<byte>(bytes[..length]);
            Assert.Equal(FrameParseStatus.Incomplete, FrameParser.TryParse(ref buffer, Limit, out _, out _));
            Assert.Equal(length, buffer.Length);
        }
    }

    [Fact]
    public void A_body_over_the_limit_is_refused_from_the_header_alone()
    {
        var header = new byte[FrameHeader.Size];
        new FrameHeader(Limit + 1, FrameHeader.CurrentVersion, FrameFlags.None, (ushort)V1.Op.Send, 9).Write(header);
        var buffer = new ReadOnlySequence<byte>(header);

        Assert.Equal(FrameParseStatus.TooLarge, FrameParser.TryParse(ref buffer, Limit, out var parsed, out _));
        Assert.Equal(9u, parsed.RequestId);
    }

    [Fact]
    public void Unknown_versions_and_flags_are_refused()
    {
        var header = new byte[FrameHeader.Size];
        new FrameHeader(0, 2, FrameFlags.None, 1, 1).Write(header);
        var buffer = new ReadOnlySequence<byte>(header);
        Assert.Equal(FrameParseStatus.UnsupportedVersion, FrameParser.TryParse(ref buffer, Limit, out _, out _));

        new FrameHeader(0, FrameHeader.CurrentVersion, (FrameFlags)4, 1, 1).Write(header);
        buffer = new ReadOnlySequence<byte>(header);
        Assert.Equal(FrameParseStatus.UnknownFlags, FrameParser.TryParse(ref buffer, Limit, out _, out _));
    }

    [Fact]
    public void Random_input_never_throws()
    {
        var random = new Random(1234);
        for (var i = 0; i < 10_000; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            var buffer = new ReadOnlySequence<byte>(bytes);
            var status = FrameParser.TryParse(ref buffer, Limit, out _, out var body);
            Assert.True(status != FrameParseStatus.Complete || body.Length <= Limit);
        }
    }

    [Fact]
    public void Large_push_bodies_are_compressed_and_inflate_back()
    {
        var batch = new V1.PushBatch();
        for (var i = 0; i < 10; i++)
        {
            batch.Events.Add(new V1.Event { Message = new V1.Message { ConversationId = "grp:team", Seq = i + 1, SenderId = "alice", ClientMsgId = Guid.NewGuid().ToString("N"), Content = new V1.Content { Type = V1.ContentType.Text, Text = $"message number {i} about the release" } } });
        }

        var output = new ArrayBufferWriter<byte>();
        var size = FrameWriter.Write(output, (ushort)V1.Op.Push, 0, batch, compressFrom: 256);
        var buffer = new ReadOnlySequence<byte>(output.WrittenMemory);
        Assert.Equal(FrameParseStatus.Complete, FrameParser.TryParse(ref buffer, Limit, out var header, out var body));

        Assert.Equal(FrameFlags.Deflate, header.Flags);
        Assert.True(size < FrameHeader.Size + batch.CalculateSize());
        Assert.True(FrameCompression.TryDecompress(body, Limit, out var inflated));
        Assert.Equal(batch, V1.PushBatch.Parser.ParseFrom(inflated));
    }

    [Fact]
    public void A_compressed_body_that_inflates_past_the_limit_is_refused()
    {
        var bomb = FrameCompression.Compress(new byte[Limit * 4]);

        Assert.False(FrameCompression.TryDecompress(new ReadOnlySequence<byte>(bomb), Limit, out _));
    }

    private static byte[] Write(V1.Op op, uint requestId, IMessage body)
    {
        var output = new ArrayBufferWriter<byte>();
        FrameWriter.Write(output, (ushort)op, requestId, body);
        return output.WrittenSpan.ToArray();
    }

    private static ReadOnlySequence<byte> Segments(byte[] first, byte[] second)
    {
        var start = new Segment(first, 0);
        var end = start.Append(second);
        return new ReadOnlySequence<byte>(start, 0, end, second.Length);
    }

    private sealed class Segment : ReadOnlySequenceSegment<byte>
    {
        public Segment(ReadOnlyMemory<byte> memory, long runningIndex)
        {
            Memory = memory;
            RunningIndex = runningIndex;
        }

        public Segment Append(ReadOnlyMemory<byte> memory)
        {
            var next = new Segment(memory, RunningIndex + Memory.Length);
            Next = next;
            return next;
        }
    }
}
