namespace Orleans.Im.Protocol.Framing;

/// <summary>Bits of the header's flags byte. Unknown bits are an error, so they can be given meaning later.</summary>
[Flags]
public enum FrameFlags : byte
{
    None = 0,

    /// <summary>The body is compressed with raw DEFLATE (RFC 1951).</summary>
    Deflate = 1,

    /// <summary>Every flag this version knows.</summary>
    Known = Deflate,
}
