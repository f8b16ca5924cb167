using System.Buffers;

namespace Orleans.Im.Protocol.Framing;

/// <summary>
/// Finds frames in received bytes. Pure: no I/O, no allocation beyond a header on a segment boundary; the caller owns
/// the buffer and advances its reader to wherever the buffer ends up (consumed) in every case.
/// </summary>
public static class FrameParser
{
    /// <summary>
    /// Parses one frame from the start of <paramref name="buffer"/>. On <see cref="FrameParseStatus.Complete"/>,
    /// <paramref name="body"/> is the frame's body and <paramref name="buffer"/> is sliced past the frame. On any
    /// other status the buffer is unchanged; the header (when one could be read) says which request an error answers.
    /// The body limit is checked against the header alone, before any of the body is waited for.
    /// </summary>
    public static FrameParseStatus TryParse(ref ReadOnlySequence<byte> buffer, int maxBodyBytes, out FrameHeader header, out ReadOnlySequence<byte> body)
    {
        body = default;
        header = default;
        if (buffer.Length < FrameHeader.Size)
        {
            return FrameParseStatus.Incomplete;
        }

        Span<byte> headerBytes = stackalloc byte[FrameHeader.Size];
        buffer.Slice(0, FrameHeader.Size).CopyTo(headerBytes);
        header = FrameHeader.Read(headerBytes);

        if (header.Version != FrameHeader.CurrentVersion)
        {
            return FrameParseStatus.UnsupportedVersion;
        }

        if ((header.Flags & ~FrameFlags.Known) != 0)
        {
            return FrameParseStatus.UnknownFlags;
        }

        if (header.BodyLength > (uint)maxBodyBytes)
        {
            return FrameParseStatus.TooLarge;
        }

        var total = FrameHeader.Size + (long)header.BodyLength;
        if (buffer.Length < total)
        {
            return FrameParseStatus.Incomplete;
        }

        body = buffer.Slice(FrameHeader.Size, header.BodyLength);
        buffer = buffer.Slice(total);
        return FrameParseStatus.Complete;
    }
}
