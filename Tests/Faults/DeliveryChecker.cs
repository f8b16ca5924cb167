using System.Collections.Concurrent;
using System.Diagnostics;
using V1 = Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// Records every send attempt, ack, error and delivery of the clients in a fault drill, and checks them against the
/// conversations' logs at the end: acked-but-lost, duplicates shown, ordering violations, gaps never filled, and the
/// longest time a client could not send. Thread-safe: each client's sender and reader record concurrently.
/// </summary>
public sealed class DeliveryChecker
{
    private const int MaxExamples = 5;
    private readonly ConcurrentDictionary<string, SendRecord> _sends = new();
    private readonly ConcurrentQueue<Shown>[] _shown;
    private int _retryableErrors;
    private int _otherErrors;
    private long _slowestRefusalTicks;

    public DeliveryChecker(int clients)
    {
        _shown = Enumerable.Range(0, clients).Select(_ => new ConcurrentQueue<Shown>()).ToArray();
    }

    /// <summary>Acks so far (sent or duplicate).</summary>
    public int AckCount => _sends.Values.Count(s => s.Seq > 0);

    /// <summary>A client starts sending a message (the first attempt; retries reuse the id and do not reset the clock).</summary>
    public void Attempting(string conversationId, string clientMsgId) =>
        _sends.TryAdd(clientMsgId, new SendRecord(conversationId, Stopwatch.GetTimestamp()));

    public void Acked(string clientMsgId, V1.SendAck ack)
    {
        var send = _sends[clientMsgId];
        lock (send)
        {
            send.Seq = ack.Seq;
            send.AckedAt = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>An attempt ended in an error after <paramref name="took"/> (from transmission to the error).</summary>
    public void Failed(bool retryable, TimeSpan took)
    {
        var ticks = took.Ticks;
        for (var seen = Interlocked.Read(ref _slowestRefusalTicks); ticks > seen; seen = Interlocked.Read(ref _slowestRefusalTicks))
        {
            if (Interlocked.CompareExchange(ref _slowestRefusalTicks, ticks, seen) == seen)
            {
                break;
            }
        }

        if (retryable)
        {
            Interlocked.Increment(ref _retryableErrors);
        }
        else
        {
            Interlocked.Increment(ref _otherErrors);
        }
    }

    /// <summary>A client showed a message to its user (read from <c>ImClient.Messages</c>).</summary>
    public void Delivered(int client, V1.Message message) =>
        _shown[client].Enqueue(new Shown(message.ConversationId, message.Seq, message.ClientMsgId));

    /// <summary>The highest seq client <paramref name="client"/> has shown in a conversation.</summary>
    public long ShownUpTo(int client, string conversationId) =>
        _shown[client].Where(s => s.ConversationId == conversationId).Select(s => s.Seq).DefaultIfEmpty(0).Max();

    /// <summary>
    /// The figures, given each conversation's log as stored (seq → client message id) and which conversations each client
    /// is a member of.
    /// </summary>
    public DeliveryReport Report(IReadOnlyDictionary<string, IReadOnlyDictionary<long, string>> logs, IReadOnlyList<IReadOnlyList<string>> conversationsOf)
    {
        var now = Stopwatch.GetTimestamp();
        var sends = _sends.Values.ToList();
        var acked = sends.Where(s => s.Seq > 0).ToList();
        var lost = 0;
        foreach (var (send, id) in _sends.Select(p => (p.Value, p.Key)).Where(p => p.Value.Seq > 0))
        {
            if (!logs.TryGetValue(send.ConversationId, out var log) || !log.TryGetValue(send.Seq, out var stored) || stored != id)
            {
                lost++;
            }
        }

        var duplicates = 0;
        var reordered = 0;
        var gaps = 0;
        var delivered = 0;
        var examples = new List<string>();
        for (var client = 0; client < _shown.Length; client++)
        {
            var shown = _shown[client].ToList();
            delivered += shown.Count;
            foreach (var conversation in shown.GroupBy(s => s.ConversationId))
            {
                var last = 0L;
                var seqs = new HashSet<long>();
                var ids = new HashSet<string>();
                foreach (var message in conversation)
                {
                    if (!seqs.Add(message.Seq) || (message.ClientMsgId.Length > 0 && !ids.Add(message.ClientMsgId)))
                    {
                        duplicates++;
                    }

                    if (message.Seq < last)
                    {
                        reordered++;
                    }

                    last = Math.Max(last, message.Seq);
                }
            }

            foreach (var conversationId in conversationsOf[client])
            {
                var seqs = shown.Where(s => s.ConversationId == conversationId).Select(s => s.Seq).ToHashSet();
                var missing = logs.TryGetValue(conversationId, out var log) ? log.Keys.Where(seq => !seqs.Contains(seq)).Order().ToList() : [];
                gaps += missing.Count;
                examples.AddRange(missing.Take(MaxExamples - examples.Count).Select(seq => $"client {client} did not show {conversationId}#{seq}"));
            }
        }

        var longest = sends.Select(s => Stopwatch.GetElapsedTime(s.FirstAttempt, s.Seq > 0 ? s.AckedAt : now)).DefaultIfEmpty(TimeSpan.Zero).Max();
        return new DeliveryReport(lost, duplicates, reordered, gaps, longest, sends.Count, acked.Count, sends.Count - acked.Count,
            _retryableErrors, _otherErrors, TimeSpan.FromTicks(Interlocked.Read(ref _slowestRefusalTicks)), delivered, examples);
    }

    private sealed class SendRecord(string conversationId, long firstAttempt)
    {
        public string ConversationId { get; } = conversationId;

        public long FirstAttempt { get; } = firstAttempt;

        public long Seq { get; set; }

        public long AckedAt { get; set; }
    }

    private sealed record Shown(string ConversationId, long Seq, string ClientMsgId);
}
