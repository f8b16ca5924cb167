using Google.Protobuf;
using Orleans.Im.Push;

namespace Orleans.Im.EdgeHost.Tcp;

/// <summary>Something waiting to be written to a connection: a reply frame, or pushed events to batch into one.</summary>
internal abstract record Outbound
{
    /// <summary>A reply (or an error, a pong): written as its own frame, in order.</summary>
    public sealed record Reply(ushort Operation, uint RequestId, IMessage Body, bool CloseAfter) : Outbound
    {
        /// <summary>The body's bytes (before compression): what it holds while it waits (<see cref="OutboundQueue"/>).</summary>
        public int Size { get; } = Body.CalculateSize();
    }

    /// <summary>Pushed events; consecutive ones go out together in one push frame.</summary>
    public sealed record Events(UserEventBatch Batch) : Outbound;
}
