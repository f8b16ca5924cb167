namespace Orleans.Im.Tests.Protocol;

/// <summary>
/// Deterministic mutations of valid bytes (a seeded <see cref="Random"/>, so a failure reproduces from its seed): bit flips,
/// truncation, insertions, overlong varints, wrong wire types, huge lengths, far-future times and invalid ids.
/// </summary>
public sealed class Mutator(int seed)
{
    private const int MaxInsertedBytes = 64;
    private readonly Random _random = new(seed);

    public int Next(int maxExclusive) => _random.Next(maxExclusive);

    public byte[] Mutate(byte[] valid)
    {
        var bytes = valid.ToList();
        var rounds = 1 + _random.Next(3);
        for (var round = 0; round < rounds; round++)
        {
            switch (_random.Next(9))
            {
                case 0 when bytes.Count > 0:
                    // A flipped bit.
                    var at = _random.Next(bytes.Count);
                    bytes[at] ^= (byte)(1 << _random.Next(8));
                    break;
                case 1:
                    // Truncated anywhere.
                    bytes = bytes.Take(_random.Next(bytes.Count + 1)).ToList();
                    break;
                case 2:
                    // Random bytes inserted.
                    bytes.InsertRange(_random.Next(bytes.Count + 1), RandomBytes(1 + _random.Next(MaxInsertedBytes)));
                    break;
                case 3:
                    // An overlong varint (11 continuation bytes) as a field's value or tag.
                    bytes.InsertRange(_random.Next(bytes.Count + 1), [0x08, .. Enumerable.Repeat((byte)0xFF, 11), 0x01]);
                    break;
                case 4:
                    // A length-delimited field claiming far more bytes than there are.
                    bytes.InsertRange(_random.Next(bytes.Count + 1), [0x0A, 0xFF, 0xFF, 0xFF, 0xFF, 0x07]);
                    break;
                case 5:
                    // Field 1..15 with the wrong wire type (fixed64 / group start / fixed32 / varint).
                    var field = 1 + _random.Next(15);
                    var wireType = new[] { 0, 1, 3, 5 }[_random.Next(4)];
                    bytes.InsertRange(0, [(byte)((field << 3) | wireType), 0x01, 0x02, 0x03, 0x04, 0x05, 0x06, 0x07, 0x08]);
                    break;
                case 6:
                    // A far-future or negative 64-bit number in a varint field (times, seqs, versions).
                    bytes.AddRange([(byte)((1 + _random.Next(6)) << 3), 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0xFF, 0x01]);
                    break;
                case 7:
                    // An invalid id in string field 1: too long, control characters, separators, invalid UTF-8.
                    byte[] id = _random.Next(4) switch
                    {
                        0 => Enumerable.Repeat((byte)'a', 300).ToArray(),
                        1 => [0x00, 0x01, 0x1B, 0x7F],
                        2 => "p2p:::x:y:z"u8.ToArray(),
                        _ => [0xC3, 0x28, 0xF0, 0x28, 0x8C, 0x28],
                    };
                    bytes.AddRange([0x0A, (byte)id.Length, .. id]);
                    if (id.Length > 127)
                    {
                        // Two-byte varint length.
                        var index = bytes.Count - id.Length - 1;
                        bytes[index] = (byte)(0x80 | (id.Length & 0x7F));
                        bytes.Insert(index + 1, (byte)(id.Length >> 7));
                    }

                    break;
                default:
                    bytes = RandomBytes(_random.Next(MaxInsertedBytes)).ToList();
                    break;
            }
        }

        return [.. bytes];
    }

    public byte[] RandomBytes(int count)
    {
        var bytes = new byte[count];
        _random.NextBytes(bytes);
        return bytes;
    }
}
