using System.Buffers;
using Google.Protobuf;

namespace Orleans.Im.Protocol.Framing;

/// <summary>Writes frames: header, then the protobuf body, compressed when that pays.</summary>
public static class FrameWriter
{
    /// <summary>
    /// Writes one frame to <paramref name="output"/> and returns its size on the wire. Bodies of at least
    /// <paramref name="compressFrom"/> bytes are DEFLATE-compressed when that makes them smaller.
    /// </summary>
    public static int Write(IBufferWriter<byte> output, ushort operation, uint requestId, IMessage body, int compressFrom = int.MaxValue)
    {
        ArgumentNullException.ThrowIfNull(output);
        ArgumentNullException.ThrowIfNull(body);
        var size = body.CalculateSize();
        if (size >= compressFrom)
        {
            var plain = body.ToByteArray();
            var compressed = FrameCompression.Compress(plain);
            if (compressed.Length < plain.Length)
            {
                WriteHeader(output, new FrameHeader((uint)compressed.Length, FrameHeader.CurrentVersion, FrameFlags.Deflate, operation, requestId));
                output.Write(compressed);
                return FrameHeader.Size + compressed.Length;
            }
        }

        WriteHeader(output, new FrameHeader((uint)size, FrameHeader.CurrentVersion, FrameFlags.None, operation, requestId));
        if (size > 0)
        {
            var span = output.GetSpan(size)[..size];
            body.WriteTo(span);
            output.Advance(size);
        }

        return FrameHeader.Size + size;
    }

    private static void WriteHeader(IBufferWriter<byte> output, FrameHeader header)
    {
        header.Write(output.GetSpan(FrameHeader.Size));
        output.Advance(FrameHeader.Size);
    }
}
