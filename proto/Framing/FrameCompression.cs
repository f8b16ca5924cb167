using System.Buffers;
using System.IO.Compression;

namespace Orleans.Im.Protocol.Framing;

/// <summary>Raw DEFLATE for frame bodies, bounded on the way in so a small frame cannot inflate without limit.</summary>
public static class FrameCompression
{
    /// <summary>Compresses <paramref name="body"/>.</summary>
    public static byte[] Compress(ReadOnlySpan<byte> body)
    {
        using var output = new MemoryStream(body.Length / 2 + 16);
        using (var deflate = new DeflateStream(output, CompressionLevel.Fastest, leaveOpen: true))
        {
            deflate.Write(body);
        }

        return output.ToArray();
    }

    /// <summary>Decompresses; false when the data is not valid DEFLATE or inflates past <paramref name="maxBytes"/>.</summary>
    public static bool TryDecompress(ReadOnlySequence<byte> compressed, int maxBytes, out byte[] body)
    {
        body = [];
        try
        {
            using var input = new MemoryStream(compressed.ToArray());
            using var deflate = new DeflateStream(input, CompressionMode.Decompress);
            using var output = new MemoryStream();
            var chunk = new byte[8192];
            int read;
            while ((read = deflate.Read(chunk, 0, chunk.Length)) > 0)
            {
                if (output.Length + read > maxBytes)
                {
                    return false;
                }

                output.Write(chunk, 0, read);
            }

            body = output.ToArray();
            return true;
        }
        catch (InvalidDataException)
        {
            return false;
        }
    }
}
