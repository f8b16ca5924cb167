using System.Buffers;
using BenchmarkDotNet.Attributes;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Bench.Micro;

/// <summary>The TCP frame codec (proto/Framing): writing a send frame, and parsing a buffer of frames as the edge's read loop does.</summary>
/// <remarks>Not sealed: BenchmarkDotNet derives from benchmark classes.</remarks>
[MemoryDiagnoser]
public class FrameCodecBenchmarks
{
    /// <summary>Frames in the parse buffer: a read from a busy connection holds many.</summary>
    private const int FramesPerBuffer = 100;
    private const int MaxFrameBytes = 64 * 1024;

    private readonly ArrayBufferWriter<byte> _output = new(4096);
    private SendRequest _send = null!;
    private ReadOnlySequence<byte> _single;
    private ReadOnlySequence<byte> _segmented;

    [Params(40, 2000)]
    public int BodyBytes { get; set; }

    [GlobalSetup]
    public void Setup()
    {
        _send = new SendRequest
        {
            ConversationId = "p2p:bench-user-000001:bench-user-000002",
            ClientMsgId = Guid.NewGuid().ToString("N"),
            Content = new Content { Type = ContentType.Text, Text = new string('x', BodyBytes) },
        };
        var frames = new ArrayBufferWriter<byte>();
        for (var i = 0; i < FramesPerBuffer; i++)
        {
            FrameWriter.Write(frames, (ushort)Op.Send, (uint)i, _send);
        }

        var bytes = frames.WrittenMemory.ToArray();
        _single = new ReadOnlySequence<byte>(bytes);
        _segmented = Segments.Split(bytes, 4096);
    }

    [Benchmark]
    public int WriteSendFrame()
    {
        _output.ResetWrittenCount();
        return FrameWriter.Write(_output, (ushort)Op.Send, 7, _send);
    }

    [Benchmark(OperationsPerInvoke = FramesPerBuffer)]
    public long ParseFramesOneSegment() => ParseAll(_single);

    [Benchmark(OperationsPerInvoke = FramesPerBuffer)]
    public long ParseFramesFourKilobyteSegments() => ParseAll(_segmented);

    [Benchmark(OperationsPerInvoke = FramesPerBuffer)]
    public long ParseFramesAndBodies()
    {
        var buffer = _single;
        long total = 0;
        while (FrameParser.TryParse(ref buffer, MaxFrameBytes, out _, out var body) == FrameParseStatus.Complete)
        {
            total += SendRequest.Parser.ParseFrom(body).ClientMsgId.Length;
        }

        return total;
    }

    private static long ParseAll(ReadOnlySequence<byte> buffer)
    {
        long total = 0;
        while (FrameParser.TryParse(ref buffer, MaxFrameBytes, out var header, out _) == FrameParseStatus.Complete)
        {
            total += header.BodyLength;
        }

        return total;
    }
}
