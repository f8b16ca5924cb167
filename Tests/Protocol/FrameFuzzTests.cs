using System.Buffers;
using Google.Protobuf;
using Orleans.Im.Protocol.Framing;
using Xunit.Abstractions;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Protocol;

/// <summary>
/// Mutation fuzzing of the frame parser, the decompressor and every operation's body parser, with fixed seeds and bounded
/// iterations: nothing throws but the protobuf parser's own "invalid" exception, and no input makes them hold more than
/// the frame limit.
/// </summary>
[Trait("Category", "Unit")]
public sealed class FrameFuzzTests(ITestOutputHelper output)
{
    private const int Limit = 64 * 1024;
    private const int IterationsPerOperation = 3_000;
    private const int Seed = 20_261_122;

    [Fact]
    public void Mutated_frames_of_every_operation_parse_or_are_refused_and_never_throw()
    {
        var mutator = new Mutator(Seed);
        var outcomes = new Dictionary<string, int>();
        foreach (var (op, body, parser) in ProtocolSamples.Requests)
        {
            var valid = Frame(op, body);
            for (var i = 0; i < IterationsPerOperation; i++)
            {
                var bytes = mutator.Mutate(valid);
                var outcome = ParseLikeTheEdge(bytes, mutator.Next(bytes.Length + 1), parser);
                outcomes[outcome] = outcomes.GetValueOrDefault(outcome) + 1;
            }
        }

        foreach (var (outcome, count) in outcomes.OrderBy(o => o.Key, StringComparer.Ordinal))
        {
            output.WriteLine($"{outcome}: {count}");
        }

        // The mutations reach every path: bodies parsed, bodies refused, frames refused and frames waiting for more bytes.
        Assert.Contains("body parsed", outcomes.Keys);
        Assert.Contains("body refused", outcomes.Keys);
        Assert.Contains(outcomes.Keys, o => o.StartsWith("frame ", StringComparison.Ordinal));
        Assert.Contains("incomplete", outcomes.Keys);
    }

    [Fact]
    public void Mutated_bodies_of_every_operation_parse_or_throw_only_the_protobuf_invalid_exception()
    {
        var mutator = new Mutator(Seed + 1);
        foreach (var (op, body, parser) in ProtocolSamples.Requests)
        {
            var valid = body.ToByteArray();
            for (var i = 0; i < IterationsPerOperation; i++)
            {
                var bytes = mutator.Mutate(valid);
                var exception = Record.Exception(() => parser.ParseFrom(bytes));
                Assert.True(exception is null or InvalidProtocolBufferException,
                    $"{op}, seed {Seed + 1}, iteration {i}: {exception?.GetType().Name}: {Convert.ToHexString(bytes)}");
            }
        }
    }

    [Theory]
    [InlineData(Limit + 1)]
    [InlineData(Limit * 16)]
    [InlineData(64 * 1024 * 1024)]
    public void A_compression_bomb_is_refused_without_inflating_past_the_limit(int inflatedBytes)
    {
        var bomb = FrameCompression.Compress(new byte[inflatedBytes]);
        var before = GC.GetAllocatedBytesForCurrentThread();

        var accepted = FrameCompression.TryDecompress(new ReadOnlySequence<byte>(bomb), Limit, out var body);

        var allocated = GC.GetAllocatedBytesForCurrentThread() - before;
        output.WriteLine($"{bomb.Length} compressed bytes claiming {inflatedBytes}: allocated {allocated} bytes to refuse them");
        Assert.False(accepted);
        Assert.Empty(body);
        // Refused after at most the limit plus a chunk, whatever the claimed size (the input itself is copied once).
        Assert.True(allocated < 4 * Limit + 4 * bomb.Length, $"allocated {allocated} bytes");
    }

    [Fact]
    public void Headers_claiming_any_length_are_judged_from_the_header_alone()
    {
        var mutator = new Mutator(Seed + 2);
        for (var i = 0; i < 10_000; i++)
        {
            var length = (uint)mutator.Next(int.MaxValue) * (uint)(1 + mutator.Next(2));
            var bytes = new byte[FrameHeader.Size + mutator.Next(32)];
            new FrameHeader(length, FrameHeader.CurrentVersion, FrameFlags.None, (ushort)mutator.Next(ushort.MaxValue + 1), (uint)mutator.Next(int.MaxValue)).Write(bytes);
            var buffer = new ReadOnlySequence<byte>(bytes);

            var status = FrameParser.TryParse(ref buffer, Limit, out var header, out _);

            var expected = length > Limit ? FrameParseStatus.TooLarge
                : length <= bytes.Length - FrameHeader.Size ? FrameParseStatus.Complete
                : FrameParseStatus.Incomplete;
            Assert.Equal((expected, length), (status, header.BodyLength));
        }
    }

    /// <summary>What the edge's read loop does with the bytes, split at <paramref name="split"/> across two segments.</summary>
    private static string ParseLikeTheEdge(byte[] bytes, int split, MessageParser parser)
    {
        var buffer = Segments(bytes[..split], bytes[split..]);
        var before = buffer.Length;
        var status = FrameParser.TryParse(ref buffer, Limit, out var header, out var body);
        if (status == FrameParseStatus.Incomplete)
        {
            Assert.Equal(before, buffer.Length);
            return "incomplete";
        }

        if (status != FrameParseStatus.Complete)
        {
            Assert.Equal(before, buffer.Length);
            return $"frame {status}";
        }

        Assert.True(body.Length <= Limit);
        Assert.Equal(before - FrameHeader.Size - body.Length, buffer.Length);
        var raw = body.ToArray();
        if ((header.Flags & FrameFlags.Deflate) != 0 && !FrameCompression.TryDecompress(new ReadOnlySequence<byte>(raw), Limit, out raw))
        {
            return "compressed body refused";
        }

        try
        {
            parser.ParseFrom(raw);
            return "body parsed";
        }
        catch (InvalidProtocolBufferException)
        {
            return "body refused";
        }
    }

    private static byte[] Frame(V1.Op op, IMessage body)
    {
        var output = new ArrayBufferWriter<byte>();
        FrameWriter.Write(output, (ushort)op, 7, body);
        return output.WrittenSpan.ToArray();
    }

    private static ReadOnlySequence<byte> Segments(byte[] first, byte[] second)
    {
        var start = new FuzzSegment(first, 0);
        var end = start.Append(second);
        return new ReadOnlySequence<byte>(start, 0, end, second.Length);
    }
}
