using System.Buffers;
using Google.Protobuf;
using Orleans.Im.EdgeHost.Protocol;
using Orleans.Im.Messages;
using Orleans.Im.Protocol.Framing;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Bench.Wire;

/// <summary>
/// Bytes on the wire of the mobile protocol: the frames for a 1:1 text message "hello" (send, ack, push) and the
/// compression of a 10-message push batch, built exactly as the edge host builds them (its mapper and frame writer).
/// Deterministic: no server, no timing.
/// </summary>
public static class WireSizeCommand
{
    private const int EdgeCompressFromBytes = 1024;

    // Ten chat lines of ordinary length, in two languages (CJK text is 3 bytes a character in UTF-8).
    private static readonly string[] Lines =
    [
        "hey, are we still on for lunch tomorrow?",
        "yes! 12:30 at the usual place",
        "can you send me the slides from this morning?",
        "sure, uploading them now",
        "thanks, the numbers on page 4 look off though",
        "明天的会议改到下午三点",
        "好的，我会通知其他人",
        "the build is green again, merging now",
        "great, I'll tag the release after lunch",
        "👍 see you at 12:30",
    ];

    public static int Run()
    {
        var now = DateTimeOffset.FromUnixTimeMilliseconds(1_795_000_000_000);
        var conversationId = GrainKeys.P2P("alice", "bob");
        var clientMsgId = Guid.Parse("6f1c2d3e-4a5b-4c6d-8e7f-901a2b3c4d5e").ToString("N");

        var send = Frame(V1.Op.Send, 17, new V1.SendRequest
        {
            ConversationId = conversationId,
            ClientMsgId = clientMsgId,
            Content = ProtoMapper.ToProto(MessageContent.FromText("hello")),
        });
        var ack = Frame(V1.Op.SendAck, 17, new V1.SendAck
        {
            ConversationId = conversationId,
            ClientMsgId = clientMsgId,
            Status = V1.SendStatus.Sent,
            Seq = 1,
            ServerTimeMs = now.ToUnixTimeMilliseconds(),
        });
        var hello = new ChatMessage(conversationId, 1, "alice", "phone", clientMsgId, MessageClass.Persistent, MessageContent.FromText("hello"), now);
        var push = Frame(V1.Op.Push, 0, Batch([hello]));

        var ten = Lines.Select((text, i) => new ChatMessage(conversationId, i + 1, i % 2 == 0 ? "alice" : "bob", "phone",
            Guid.NewGuid().ToString("N"), MessageClass.Persistent, MessageContent.FromText(text), now.AddSeconds(i * 7))).ToList();
        var tenPlain = Frame(V1.Op.Push, 0, Batch(ten), compressFrom: int.MaxValue);
        var tenCompressed = Frame(V1.Op.Push, 0, Batch(ten), compressFrom: 0);
        var tenSeparate = ten.Sum(m => Frame(V1.Op.Push, 0, Batch([m])));

        Console.WriteLine("| frame | bytes on the wire (12-byte header + body) |");
        Console.WriteLine("|---|---:|");
        Console.WriteLine($"| SEND \"hello\" (1:1, 32-char client id) | {send} |");
        Console.WriteLine($"| SEND_ACK | {ack} |");
        Console.WriteLine($"| PUSH of that message to the peer | {push} |");
        Console.WriteLine($"| 10 messages as 10 push frames | {tenSeparate} |");
        Console.WriteLine($"| 10 messages in one push frame, uncompressed | {tenPlain} |");
        Console.WriteLine($"| 10 messages in one push frame, DEFLATE | {tenCompressed} |");
        Console.WriteLine();
        Console.WriteLine($"one frame vs ten: {1 - ((double)tenPlain / tenSeparate):P0} saved; compression of the batch: "
            + $"{1 - ((double)tenCompressed / tenPlain):P0} saved ({(double)tenPlain / tenCompressed:F2}:1); both: {1 - ((double)tenCompressed / tenSeparate):P0} saved. "
            + $"The edge compresses push bodies from {EdgeCompressFromBytes} bytes.");
        return 0;
    }

    private static V1.PushBatch Batch(IEnumerable<ChatMessage> messages)
    {
        var batch = new V1.PushBatch();
        foreach (var message in messages)
        {
            batch.Events.Add(ProtoMapper.ToProto(new Push.MessageEvent(message))!);
        }

        return batch;
    }

    private static int Frame(V1.Op op, uint requestId, IMessage body, int compressFrom = EdgeCompressFromBytes) =>
        FrameWriter.Write(new ArrayBufferWriter<byte>(), (ushort)op, requestId, body, compressFrom);
}
