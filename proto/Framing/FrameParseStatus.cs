namespace Orleans.Im.Protocol.Framing;

/// <summary>What <see cref="FrameParser.TryParse"/> found at the start of the buffer.</summary>
public enum FrameParseStatus
{
    /// <summary>A whole frame; the buffer now starts after it.</summary>
    Complete,

    /// <summary>Not yet a whole frame: read more and try again.</summary>
    Incomplete,

    /// <summary>The header announces a body over the limit: refuse before buffering it.</summary>
    TooLarge,

    /// <summary>A protocol version this side does not speak.</summary>
    UnsupportedVersion,

    /// <summary>Flag bits this version does not know.</summary>
    UnknownFlags,
}
