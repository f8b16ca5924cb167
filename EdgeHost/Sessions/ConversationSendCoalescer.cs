using Orleans.Im.Conversations;
using Orleans.Im.Messages;

namespace Orleans.Im.EdgeHost.Sessions;

/// <summary>
/// This edge's sends to conversation grains, at most one call under way per conversation: a send to a conversation
/// with no call under way goes at once; sends that arrive meanwhile wait for it and then go together, in arrival order,
/// as one <see cref="IConversationGrain.SendManyAsync"/>, which the grain commits as one append. A conversation grain is
/// a single writer that awaits each commit, so a busy one (a large group) was held to one message per commit; this
/// lets its commits carry many. Nothing waits that would not have waited at the grain anyway, and a device's messages
/// keep their order (they join the queue in the order they arrive).
/// </summary>
public sealed class ConversationSendCoalescer(ConversationReferences conversations)
{
    private readonly Dictionary<string, Lane> _lanes = new(StringComparer.Ordinal);
    private readonly Lock _lock = new();

    /// <summary>Conversations with a call under way from this edge.</summary>
    public int BusyConversations
    {
        get
        {
            lock (_lock)
            {
                return _lanes.Count;
            }
        }
    }

    /// <summary>Sends <paramref name="request"/> to the conversation; completes with its own result.</summary>
    public Task<SendResult> SendAsync(string conversationId, SendRequest request)
    {
        ArgumentNullException.ThrowIfNull(request);
        Lane lane;
        lock (_lock)
        {
            if (_lanes.TryGetValue(conversationId, out var busy))
            {
                var waiting = new WaitingSend(request);
                busy.Waiting.Enqueue(waiting);
                return waiting.Result.Task;
            }

            lane = new Lane();
            _lanes[conversationId] = lane;
        }

        return SendFirstAsync(conversationId, lane, request);
    }

    private async Task<SendResult> SendFirstAsync(string conversationId, Lane lane, SendRequest request)
    {
        try
        {
            return await conversations.For(conversationId).SendAsync(request);
        }
        finally
        {
            // The caller has its answer; whatever queued behind it goes on without holding it up.
            _ = SendWaitingAsync(conversationId, lane);
        }
    }

    /// <summary>Sends what waits on <paramref name="lane"/>, a call at a time, until nothing does; then frees the lane.</summary>
    private async Task SendWaitingAsync(string conversationId, Lane lane)
    {
        while (true)
        {
            WaitingSend[] batch;
            lock (_lock)
            {
                if (lane.Waiting.Count == 0)
                {
                    _lanes.Remove(conversationId);
                    return;
                }

                batch = new WaitingSend[Math.Min(lane.Waiting.Count, MessageLimits.MaxSendsPerCall)];
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i] = lane.Waiting.Dequeue();
                }
            }

            try
            {
                var results = batch.Length == 1
                    ? [await conversations.For(conversationId).SendAsync(batch[0].Request)]
                    : await conversations.For(conversationId).SendManyAsync([.. batch.Select(w => w.Request)]);
                for (var i = 0; i < batch.Length; i++)
                {
                    batch[i].Result.TrySetResult(results[i]);
                }
            }
            catch (Exception ex)
            {
                // Boundary: each waiting sender gets the failure its own call would have had (a timeout, an unreachable
                // cluster), and the lane goes on with the next.
                foreach (var waiting in batch)
                {
                    waiting.Result.TrySetException(ex);
                }
            }
        }
    }

    private sealed class Lane
    {
        public Queue<WaitingSend> Waiting { get; } = new();
    }

    private sealed class WaitingSend(SendRequest request)
    {
        public SendRequest Request { get; } = request;

        public TaskCompletionSource<SendResult> Result { get; } = new(TaskCreationOptions.RunContinuationsAsynchronously);
    }
}
