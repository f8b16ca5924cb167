using Orleans.Im.Bench.Load;

namespace Orleans.Im.Tests.Bench;

/// <summary>
/// A bench user without a server: every send is acked as stored and delivered at once to <paramref name="recipientId"/>
/// through the sink, and delivered there again after <paramref name="duplicateAfter"/> when that is given (a late duplicate).
/// </summary>
internal sealed class EchoBenchUser(string userId, string recipientId, DeliverySink sink, TimeSpan? duplicateAfter) : IBenchUser
{
    public string UserId { get; } = userId;

    public Task<bool> SendTextAsync(string conversationId, string clientMsgId, string text)
    {
        sink.OnMessage(recipientId, UserId, clientMsgId);
        if (duplicateAfter is { } after)
        {
            _ = Task.Delay(after).ContinueWith(_ => sink.OnMessage(recipientId, UserId, clientMsgId), TaskScheduler.Default);
        }

        return Task.FromResult(true);
    }

    public Task<bool> JoinRoomAsync(string roomId) => Task.FromResult(true);

    public ValueTask DisposeAsync() => ValueTask.CompletedTask;
}
