using System.Buffers;
using System.Net.Sockets;
using Google.Protobuf;
using Orleans.Im.Protocol.Framing;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>A bare socket speaking (or abusing) the wire protocol, for tests of what the edge does with bad input.</summary>
public sealed class RawConnection : IAsyncDisposable
{
    private readonly TcpClient _socket;
    private readonly NetworkStream _stream;
    private byte[] _pending = [];

    private RawConnection(TcpClient socket)
    {
        _socket = socket;
        _stream = socket.GetStream();
    }

    public Socket Socket => _socket.Client;

    /// <summary>The server's side of an accepted socket, for a test that plays the edge to an SDK client.</summary>
    public static RawConnection Accepted(TcpClient socket) => new(socket);

    public static async Task<RawConnection> OpenAsync(int port, int? receiveBufferBytes = null)
    {
        var socket = new TcpClient();
        if (receiveBufferBytes is { } size)
        {
            socket.ReceiveBufferSize = size;
        }

        await socket.ConnectAsync("127.0.0.1", port);
        return new RawConnection(socket);
    }

    public Task SendRawAsync(byte[] bytes) => _stream.WriteAsync(bytes).AsTask();

    public Task SendAsync(V1.Op op, uint requestId, IMessage body) => _stream.WriteAsync(Frame(op, requestId, body)).AsTask();

    /// <summary>A whole frame's bytes, to send with others in one write.</summary>
    public static byte[] Frame(V1.Op op, uint requestId, IMessage body)
    {
        var buffer = new ArrayBufferWriter<byte>();
        FrameWriter.Write(buffer, (ushort)op, requestId, body);
        return buffer.WrittenSpan.ToArray();
    }

    /// <summary>A frame header claiming a body of <paramref name="bodyLength"/> bytes, and nothing else.</summary>
    public static byte[] Header(uint bodyLength, V1.Op op, uint requestId = 1, byte version = FrameHeader.CurrentVersion, FrameFlags flags = FrameFlags.None)
    {
        var bytes = new byte[FrameHeader.Size];
        new FrameHeader(bodyLength, version, flags, (ushort)op, requestId).Write(bytes);
        return bytes;
    }

    /// <summary>
    /// A ping answered with a pong: proof that the edge has taken this socket in (admitted it past the flood limits),
    /// since Kestrel hands accepted sockets to the handler on the thread pool, in no fixed order.
    /// </summary>
    public async Task PingAsync()
    {
        await SendAsync(V1.Op.Ping, 7, new V1.Ping { ClientTimeMs = 1 });
        var answer = await ReadAnswerAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(V1.Op.Pong, answer?.Op);
    }

    public async Task LoginAsync(string token, string deviceId = "raw")
    {
        await SendAsync(V1.Op.Login, 1, new V1.LoginRequest { Token = token, DeviceId = deviceId, Platform = "test", ProtocolVersion = 1 });
        var answer = await ReadAnswerAsync(TimeSpan.FromSeconds(10));
        Assert.Equal(V1.Op.LoginOk, answer?.Op);
    }

    /// <summary>The next frame, or null when the server closed the connection; throws when nothing comes in time.</summary>
    public async Task<(V1.Op Op, uint RequestId, byte[] Body)?> ReadFrameAsync(TimeSpan timeout)
    {
        using var cts = new CancellationTokenSource(timeout);
        var chunk = new byte[64 * 1024];
        while (true)
        {
            var sequence = new ReadOnlySequence<byte>(_pending);
            if (FrameParser.TryParse(ref sequence, int.MaxValue, out var header, out var body) == FrameParseStatus.Complete)
            {
                var bytes = body.ToArray();
                _pending = sequence.ToArray();
                if ((header.Flags & FrameFlags.Deflate) != 0)
                {
                    Assert.True(FrameCompression.TryDecompress(new ReadOnlySequence<byte>(bytes), int.MaxValue, out bytes));
                }

                return ((V1.Op)header.Operation, header.RequestId, bytes);
            }

            int read;
            try
            {
                read = await _stream.ReadAsync(chunk, cts.Token);
            }
            catch (IOException)
            {
                return null;
            }

            if (read == 0)
            {
                return null;
            }

            _pending = [.. _pending, .. chunk.AsSpan(0, read)];
        }
    }

    /// <summary>
    /// The next frame that is not a push: a logged-in device's pushes (its conversation list changing, say) are written
    /// between replies, in whatever order they happen, and may come before the answer a test waits for.
    /// </summary>
    public async Task<(V1.Op Op, uint RequestId, byte[] Body)?> ReadAnswerAsync(TimeSpan timeout)
    {
        while (true)
        {
            var frame = await ReadFrameAsync(timeout);
            if (frame is not { Op: V1.Op.Push })
            {
                return frame;
            }
        }
    }

    /// <summary>Reads until the server closes; returns the frames it sent before closing.</summary>
    public async Task<List<(V1.Op Op, uint RequestId, byte[] Body)>> ReadUntilClosedAsync(TimeSpan timeout)
    {
        var frames = new List<(V1.Op, uint, byte[])>();
        while (await ReadFrameAsync(timeout) is { } frame)
        {
            frames.Add(frame);
        }

        return frames;
    }

    public ValueTask DisposeAsync()
    {
        _socket.Dispose();
        return ValueTask.CompletedTask;
    }
}
