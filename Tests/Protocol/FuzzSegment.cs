using System.Buffers;

namespace Orleans.Im.Tests.Protocol;

/// <summary>A segment of a multi-segment <see cref="ReadOnlySequence{T}"/>, as a socket's pipe hands over received bytes.</summary>
internal sealed class FuzzSegment : ReadOnlySequenceSegment<byte>
{
    public FuzzSegment(ReadOnlyMemory<byte> memory, long runningIndex)
    {
        Memory = memory;
        RunningIndex = runningIndex;
    }

    public FuzzSegment Append(ReadOnlyMemory<byte> memory)
    {
        var next = new FuzzSegment(memory, RunningIndex + Memory.Length);
        Next = next;
        return next;
    }
}
