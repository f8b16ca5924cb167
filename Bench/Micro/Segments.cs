using System.Buffers;

namespace Orleans.Im.Bench.Micro;

/// <summary>Builds a multi-segment sequence, as a pipe hands over data that crossed buffer boundaries.</summary>
public sealed class Segments : ReadOnlySequenceSegment<byte>
{
    private Segments(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public static ReadOnlySequence<byte> Split(byte[] bytes, int segmentBytes)
    {
        ArgumentNullException.ThrowIfNull(bytes);
        var first = new Segments(bytes.AsMemory(0, Math.Min(segmentBytes, bytes.Length)), 0);
        var last = first;
        for (var offset = segmentBytes; offset < bytes.Length; offset += segmentBytes)
        {
            var next = new Segments(bytes.AsMemory(offset, Math.Min(segmentBytes, bytes.Length - offset)), offset);
            last.Next = next;
            last = next;
        }

        return new ReadOnlySequence<byte>(first, 0, last, last.Memory.Length);
    }
}
