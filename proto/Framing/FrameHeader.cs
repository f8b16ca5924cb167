using System.Buffers.Binary;

namespace Orleans.Im.Protocol.Framing;

/// <summary>
/// The fixed 12-byte header before every frame body, big-endian:
/// body length (uint32), protocol version (byte), flags (byte), operation (uint16), request id (uint32).
/// </summary>
/// <param name="BodyLength">Bytes of body that follow the header (compressed size when compressed).</param>
/// <param name="Version">The protocol version of this frame.</param>
/// <param name="Flags">See <see cref="FrameFlags"/>.</param>
/// <param name="Operation">The operation code (<c>im.v1.Op</c>).</param>
/// <param name="RequestId">Chosen by the client per request and echoed in the answer; 0 for pushes.</param>
public readonly record struct FrameHeader(uint BodyLength, byte Version, FrameFlags Flags, ushort Operation, uint RequestId)
{
    /// <summary>Header bytes.</summary>
    public const int Size = 12;

    /// <summary>The protocol version this build speaks.</summary>
    public const byte CurrentVersion = 1;

    /// <summary>Reads a header from exactly <see cref="Size"/> bytes.</summary>
    public static FrameHeader Read(ReadOnlySpan<byte> bytes) => new(
        BinaryPrimitives.ReadUInt32BigEndian(bytes),
        bytes[4],
        (FrameFlags)bytes[5],
        BinaryPrimitives.ReadUInt16BigEndian(bytes[6..]),
        BinaryPrimitives.ReadUInt32BigEndian(bytes[8..]));

    /// <summary>Writes the header into exactly <see cref="Size"/> bytes.</summary>
    public void Write(Span<byte> bytes)
    {
        BinaryPrimitives.WriteUInt32BigEndian(bytes, BodyLength);
        bytes[4] = Version;
        bytes[5] = (byte)Flags;
        BinaryPrimitives.WriteUInt16BigEndian(bytes[6..], Operation);
        BinaryPrimitives.WriteUInt32BigEndian(bytes[8..], RequestId);
    }
}
