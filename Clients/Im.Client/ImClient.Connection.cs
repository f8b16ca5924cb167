using System.Buffers;
using System.Diagnostics;
using System.IO.Pipelines;
using System.Net.Sockets;
using Google.Protobuf;
using Orleans.Im.Protocol.Framing;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Client;

public sealed partial class ImClient
{
    /// <summary>One TCP connection: a read loop handing frames to the client, serialised writes, and the heartbeat.</summary>
    private sealed class Connection(ImClient owner, TcpClient socket) : IDisposable
    {
        /// <summary>How long a failed heartbeat leaves the read loop to take the frames that came before the close.</summary>
        private static readonly TimeSpan LastFramesGrace = TimeSpan.FromSeconds(1);

        private readonly NetworkStream _stream = socket.GetStream();
        private readonly SemaphoreSlim _writeGate = new(1, 1);
        private readonly CancellationTokenSource _closed = new();
        private int _state = Opening;
        private Task _reading = Task.CompletedTask;

        // The largest frame body read: the SDK's default until the login's answer announces the server's limit.
        private volatile int _maxFrameBytes = DefaultMaxFrameBytes;

        // Opening: the login is under way, and a loss is the opener's failed attempt. Established: logged in, and a loss
        // is the client's to reconnect from. Lost: aborted. One atomic step between them decides who handles a loss, so a
        // failed attempt never also counts as a lost connection (which started a second reconnect loop with attempts of
        // its own, each failure of which could start another).
        private const int Opening = 0;
        private const int Established = 1;
        private const int Lost = 2;

        public bool IsOpen => Volatile.Read(ref _state) != Lost;

        /// <summary>Why the server signed the device out, from a kick that came on this connection (null: none came).</summary>
        public string? KickReason
        {
            get => Volatile.Read(ref _kickReason);
            set => Volatile.Write(ref _kickReason, value);
        }

        private string? _kickReason;

        /// <summary>
        /// Hands the connection's loss to the reconnect logic from now on; false when it was lost already, which is then
        /// the opener's failure to handle.
        /// </summary>
        public bool TryEstablish() => Interlocked.CompareExchange(ref _state, Established, Opening) == Opening;

        public void Start() => _reading = Task.Run(ReadLoopAsync);

        /// <summary>
        /// Accepts frames up to the server's announced limit (<c>LOGIN_OK</c>'s <c>max_frame_bytes</c>; 0 when it announced
        /// none) when that is over the SDK's default, never past <see cref="MaxFrameBytesCeiling"/>.
        /// </summary>
        public void AcceptFramesUpTo(uint announced) =>
            _maxFrameBytes = (int)Math.Clamp(announced, (uint)DefaultMaxFrameBytes, (uint)MaxFrameBytesCeiling);

        public void StartHeartbeat(TimeSpan interval) => _ = Task.Run(() => HeartbeatLoopAsync(interval));

        public async Task WriteAsync(Op op, uint requestId, IMessage body)
        {
            var buffer = new ArrayBufferWriter<byte>();
            FrameWriter.Write(buffer, (ushort)op, requestId, body);
            try
            {
                await _writeGate.WaitAsync(_closed.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException)
            {
                throw new IOException("connection lost", ex);
            }

            try
            {
                await _stream.WriteAsync(buffer.WrittenMemory, _closed.Token).ConfigureAwait(false);
            }
            catch (Exception ex) when (ex is OperationCanceledException or ObjectDisposedException or SocketException)
            {
                throw new IOException("connection lost", ex);
            }
            finally
            {
                _writeGate.Release();
            }
        }

        /// <summary>Same as <see cref="Abort"/>: the semaphore and token source are left to the collector, because a write
        /// may still be racing the close.</summary>
        public void Dispose() => Abort();

        public void Abort()
        {
            var before = Interlocked.Exchange(ref _state, Lost);
            if (before == Lost)
            {
                return;
            }

            _closed.Cancel();
            socket.Dispose();
            owner.OnConnectionLost(this, wasEstablished: before == Established);
        }

        private async Task ReadLoopAsync()
        {
            var reader = PipeReader.Create(_stream);
            try
            {
                while (true)
                {
                    var result = await reader.ReadAsync(_closed.Token).ConfigureAwait(false);
                    var buffer = result.Buffer;
                    try
                    {
                        while (true)
                        {
                            var limit = _maxFrameBytes;
                            var status = FrameParser.TryParse(ref buffer, limit, out var header, out var body);
                            if (status == FrameParseStatus.Incomplete)
                            {
                                break;
                            }

                            if (status != FrameParseStatus.Complete)
                            {
                                Refuse(status == FrameParseStatus.TooLarge
                                    ? $"the server sent a {(Op)header.Operation} frame of {header.BodyLength} bytes, over this client's limit of {limit}"
                                    : $"the server sent a {(Op)header.Operation} frame this client cannot read ({status})");
                                return;
                            }

                            var bytes = body.ToArray();
                            if ((header.Flags & FrameFlags.Deflate) != 0
                                && !FrameCompression.TryDecompress(new ReadOnlySequence<byte>(bytes), limit, out bytes))
                            {
                                Refuse($"the server sent a compressed {(Op)header.Operation} frame that does not inflate within this client's limit of {limit} bytes");
                                return;
                            }

                            owner.OnFrame(this, new Frame((Op)header.Operation, header.RequestId, bytes));
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
            catch (Exception ex) when (ex is OperationCanceledException or IOException or ObjectDisposedException or SocketException or InvalidProtocolBufferException)
            {
                // The connection is gone or spoke nonsense; either way it ends here.
            }
            finally
            {
                await reader.CompleteAsync().ConfigureAwait(false);
                Abort();
            }
        }

        /// <summary>Notes why a frame was refused, for the close that follows to report instead of reconnecting.</summary>
        private void Refuse(string reason)
        {
            if (IsOpen && ReferenceEquals(owner._connection, this))
            {
                owner._frameRefused = reason;
            }
        }

        private async Task HeartbeatLoopAsync(TimeSpan interval)
        {
            try
            {
                var lastCatchUp = Stopwatch.GetTimestamp();
                while (IsOpen)
                {
                    await Task.Delay(interval, _closed.Token).ConfigureAwait(false);
                    await owner.PingAsync(_closed.Token).ConfigureAwait(false);
                    if (owner._options.CatchUpInterval > TimeSpan.Zero && Stopwatch.GetElapsedTime(lastCatchUp) >= owner._options.CatchUpInterval)
                    {
                        // Pushes are hints: one lost with nothing after it (the last message before a silo failure) would
                        // otherwise wait for the next message or reconnect. A sync now and then finds it.
                        lastCatchUp = Stopwatch.GetTimestamp();
                        owner._work.Writer.TryWrite(new Work.CatchUp());
                    }
                }
            }
            catch (Exception ex) when (ex is OperationCanceledException or ImClientException or IOException)
            {
                if (ex is IOException || ex.InnerException is IOException)
                {
                    // The ping could not be written: the edge closed the connection, and its last frames (a redirect, a
                    // kick) may be unread yet. Disposing the socket now would drop them, and the reconnect would not know
                    // where to go: the read loop takes them and ends the connection itself.
                    await Task.WhenAny(_reading, Task.Delay(LastFramesGrace)).ConfigureAwait(false);
                }

                // No pong: the connection is dead even if the socket does not know yet.
                Abort();
            }
        }
    }
}
