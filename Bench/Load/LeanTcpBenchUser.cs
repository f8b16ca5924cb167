using System.Buffers;
using System.Collections.Concurrent;
using System.IO.Pipelines;
using System.Net;
using System.Net.Sockets;
using Google.Protobuf;
using Orleans.Im.Bench.Connect;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// A user on the mobile TCP protocol through the generator's own lean client: requests out (sends, room joins), their answers
/// matched by request id, pushed messages reported to the sink as they arrive. No SDK channels, per-conversation sequencing or
/// catch-up pulls, so the generator spends its CPU on load rather than on client bookkeeping; a push the edge never
/// sent is counted lost here (the SDK would pull it from the log), which makes "delivered" a measure of the push path.
/// </summary>
public sealed class LeanTcpBenchUser : IBenchUser
{
    /// <summary>Largest frame the generator accepts, as the SDK.</summary>
    private const int MaxFrameBytes = 1024 * 1024;

    /// <summary>Logins the edge refused as busy are retried, with a growing pause, this many times.</summary>
    private const int LoginAttempts = 20;

    private static readonly TimeSpan RequestTimeout = TimeSpan.FromSeconds(60);

    private readonly Socket _socket;
    private readonly DeliverySink _sink;
    private readonly SemaphoreSlim _sendLock = new(1, 1);
    private readonly ArrayBufferWriter<byte> _sendBuffer = new(256);
    private readonly ConcurrentDictionary<uint, TaskCompletionSource<bool>> _awaitingAnswer = new();
    private Task _receiving = Task.CompletedTask;
    private int _nextRequestId = 1;

    private LeanTcpBenchUser(string userId, Socket socket, DeliverySink sink)
    {
        UserId = userId;
        _socket = socket;
        _sink = sink;
    }

    public string UserId { get; }

    public static async Task<LeanTcpBenchUser> ConnectAsync(string userId, IPEndPoint edge, BenchTokens tokens, DeliverySink sink)
    {
        ArgumentNullException.ThrowIfNull(tokens);
        for (var attempt = 1; ; attempt++)
        {
            var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
            try
            {
                await socket.ConnectAsync(edge);
                if (await LeanConnection.SignInAsync(socket, tokens.Issue(userId), "bench", CancellationToken.None))
                {
                    var user = new LeanTcpBenchUser(userId, socket, sink);
                    user._receiving = user.ReceiveAsync();
                    return user;
                }
            }
            catch
            {
                socket.Dispose();
                throw;
            }

            socket.Dispose();
            if (attempt == LoginAttempts)
            {
                throw new IOException($"{userId}: login refused {LoginAttempts} times");
            }

            await Task.Delay(TimeSpan.FromMilliseconds(Random.Shared.Next(50, 100) * attempt));
        }
    }

    public Task<bool> SendTextAsync(string conversationId, string clientMsgId, string text) =>
        RequestAsync(Op.Send, new SendRequest
        {
            ConversationId = conversationId,
            ClientMsgId = clientMsgId,
            Content = new Content { Type = ContentType.Text, Text = text },
        });

    public Task<bool> JoinRoomAsync(string roomId) => RequestAsync(Op.RoomJoin, new RoomJoinRequest { RoomId = roomId });

    /// <summary>Writes one request frame; completes with true when its answer (a send ack, a join) says it succeeded.</summary>
    private async Task<bool> RequestAsync(Op operation, IMessage request)
    {
        var requestId = (uint)Interlocked.Increment(ref _nextRequestId);
        var answered = new TaskCompletionSource<bool>(TaskCreationOptions.RunContinuationsAsynchronously);
        _awaitingAnswer[requestId] = answered;
        await _sendLock.WaitAsync();
        try
        {
            _sendBuffer.ResetWrittenCount();
            FrameWriter.Write(_sendBuffer, (ushort)operation, requestId, request);
            await _socket.SendAsync(_sendBuffer.WrittenMemory);
        }
        catch (Exception ex) when (ex is SocketException or ObjectDisposedException)
        {
            _awaitingAnswer.TryRemove(requestId, out _);
            return false;
        }
        finally
        {
            _sendLock.Release();
        }

        try
        {
            return await answered.Task.WaitAsync(RequestTimeout);
        }
        catch (TimeoutException)
        {
            _awaitingAnswer.TryRemove(requestId, out _);
            return false;
        }
    }

    private async Task ReceiveAsync()
    {
        var reader = PipeReader.Create(new NetworkStream(_socket, ownsSocket: false));
        try
        {
            while (true)
            {
                var result = await reader.ReadAsync();
                var buffer = result.Buffer;
                try
                {
                    while (FrameParser.TryParse(ref buffer, MaxFrameBytes, out var header, out var body) is var status
                        && status != FrameParseStatus.Incomplete)
                    {
                        if (status != FrameParseStatus.Complete)
                        {
                            return;
                        }

                        OnFrame(header, body);
                    }

                    if (result.IsCompleted)
                    {
                        return;
                    }
                }
                finally
                {
                    reader.AdvanceTo(buffer.Start, buffer.End);
                }
            }
        }
        catch (Exception ex) when (ex is IOException or SocketException or ObjectDisposedException or OperationCanceledException
            or Google.Protobuf.InvalidProtocolBufferException)
        {
            // The connection is gone (disposed at the end of the run) or spoke nonsense: either way it ends here.
        }
        finally
        {
            await reader.CompleteAsync();
            foreach (var (requestId, acked) in _awaitingAnswer)
            {
                _awaitingAnswer.TryRemove(requestId, out _);
                acked.TrySetResult(false);
            }
        }
    }

    private void OnFrame(FrameHeader header, ReadOnlySequence<byte> body)
    {
        if ((header.Flags & FrameFlags.Deflate) != 0)
        {
            if (!FrameCompression.TryDecompress(body, MaxFrameBytes, out var inflated))
            {
                throw new IOException("a compressed frame did not inflate");
            }

            body = new ReadOnlySequence<byte>(inflated);
        }

        switch ((Op)header.Operation)
        {
            case Op.SendAck:
                if (_awaitingAnswer.TryRemove(header.RequestId, out var acked))
                {
                    acked.TrySetResult(StoredAck.IsStored(SendAck.Parser.ParseFrom(body).Status));
                }

                break;
            case Op.RoomJoinOk:
                if (_awaitingAnswer.TryRemove(header.RequestId, out var joined))
                {
                    joined.TrySetResult(RoomJoinResponse.Parser.ParseFrom(body).Error is null);
                }

                break;
            case Op.Error:
                // A refused send is answered with an error frame for its request.
                if (_awaitingAnswer.TryRemove(header.RequestId, out var refused))
                {
                    refused.TrySetResult(false);
                }

                break;
            case Op.Push:
                foreach (var pushed in PushBatch.Parser.ParseFrom(body).Events)
                {
                    if (pushed.KindCase == Event.KindOneofCase.Message)
                    {
                        _sink.OnMessage(UserId, pushed.Message.SenderId, pushed.Message.ClientMsgId);
                    }
                }

                break;
        }
    }

    public async ValueTask DisposeAsync()
    {
        _socket.Dispose();
        await _receiving;
        _sendLock.Dispose();
    }
}
