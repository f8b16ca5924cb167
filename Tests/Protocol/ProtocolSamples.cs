using Google.Protobuf;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Protocol;

/// <summary>
/// A well-formed request body for every client operation of <c>proto/im/v1/operations.proto</c>, with the parser the
/// edge uses for it: the seeds that fuzz tests mutate.
/// </summary>
public static class ProtocolSamples
{
    /// <summary>Every operation a client may send, a valid body for it, and its parser.</summary>
    public static IReadOnlyList<(V1.Op Op, IMessage Body, MessageParser Parser)> Requests { get; } =
    [
        (V1.Op.Login, new V1.LoginRequest { Token = "payload.signature", DeviceId = "phone", Platform = "test", ClientVersion = "1.0", ProtocolVersion = 1, NetworkType = "wifi" }, V1.LoginRequest.Parser),
        (V1.Op.Ping, new V1.Ping { ClientTimeMs = 1_700_000_000_000 }, V1.Ping.Parser),
        (V1.Op.Send, new V1.SendRequest { ConversationId = "p2p:alice:bob", ClientMsgId = "m-1", Content = new V1.Content { Type = V1.ContentType.Text, Text = "hello" }, Class = V1.MessageClass.Persistent, CollapseKey = "k" }, V1.SendRequest.Parser),
        (V1.Op.Sync, new V1.SyncRequest { SinceVersion = 42 }, V1.SyncRequest.Parser),
        (V1.Op.Pull, new V1.PullRequest { ConversationId = "grp:team", AfterSeq = 10, BeforeSeq = 20, Limit = 50 }, V1.PullRequest.Parser),
        (V1.Op.MarkRead, new V1.MarkReadRequest { ConversationId = "p2p:alice:bob", Seq = 3 }, V1.MarkReadRequest.Parser),
        (V1.Op.Recall, new V1.RecallRequest { ConversationId = "p2p:alice:bob", Seq = 3 }, V1.RecallRequest.Parser),
        (V1.Op.Edit, new V1.EditRequest { ConversationId = "p2p:alice:bob", Seq = 3, Content = new V1.Content { Type = V1.ContentType.Text, Text = "edited" } }, V1.EditRequest.Parser),
        (V1.Op.Delete, new V1.DeleteRequest { ConversationId = "p2p:alice:bob", Seq = 3 }, V1.DeleteRequest.Parser),
        (V1.Op.Typing, new V1.TypingRequest { ConversationId = "p2p:alice:bob" }, V1.TypingRequest.Parser),
        (V1.Op.ConnectionToken, new Google.Protobuf.WellKnownTypes.Empty(), Google.Protobuf.WellKnownTypes.Empty.Parser),
        (V1.Op.SetPresence, new V1.SetPresenceRequest { Away = true, NetworkType = "cellular" }, V1.SetPresenceRequest.Parser),
        (V1.Op.CsSetAvailable, new V1.CsSetAvailableRequest { ShopId = "shop", Available = true }, V1.CsSetAvailableRequest.Parser),
        (V1.Op.CsAgentView, new V1.CsAgentViewRequest { ShopId = "shop" }, V1.CsAgentViewRequest.Parser),
        (V1.Op.CsTransfer, new V1.CsTransferRequest { ShopId = "shop", UserId = "alice", ToAgentId = "agent2" }, V1.CsTransferRequest.Parser),
        (V1.Op.CsClose, new V1.CsCloseRequest { ShopId = "shop", UserId = "alice" }, V1.CsCloseRequest.Parser),
        (V1.Op.CsRate, new V1.CsRateRequest { ShopId = "shop", Score = 5 }, V1.CsRateRequest.Parser),
        (V1.Op.RoomJoin, new V1.RoomJoinRequest { RoomId = "lobby" }, V1.RoomJoinRequest.Parser),
        (V1.Op.RoomLeave, new V1.RoomLeaveRequest { RoomId = "lobby" }, V1.RoomLeaveRequest.Parser),
    ];
}
