namespace Orleans.Im.Bench.Load;

/// <summary>One signed-in user of a load run, over whichever transport: it sends, and reports what it receives to a sink.</summary>
public interface IBenchUser : IAsyncDisposable
{
    string UserId { get; }

    /// <summary>Sends a text; completes with true when it was acked as stored (now, or earlier: a duplicate).</summary>
    Task<bool> SendTextAsync(string conversationId, string clientMsgId, string text);

    /// <summary>Joins a chat room (<c>room:{id}</c>); completes with true when the edge accepted the join.</summary>
    Task<bool> JoinRoomAsync(string roomId);
}
