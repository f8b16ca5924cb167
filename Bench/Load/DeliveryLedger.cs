using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Every message a run sends, by index: when it was scheduled to be sent, to whom (one named recipient, or how many),
/// whether it was acked and who received it. Thread-safe for concurrent senders and receivers; counts lost messages,
/// duplicates and misdeliveries at the end.
/// </summary>
public sealed class DeliveryLedger
{
    /// <summary>
    /// The most memory the per-recipient arrival bitsets may take (one bit per message and user, allocated at a message's
    /// first arrival). Beyond it a message with several recipients is checked by count only: see
    /// <see cref="DeliveryCounts.PerRecipient"/>.
    /// </summary>
    public const long MaxRecipientBitsetBytes = 512L * 1024 * 1024;

    private const int BitsPerWord = 64;

    private readonly long[] _sentTicks;
    private readonly int[] _expectedDeliveries;
    private readonly string?[] _recipients;
    private readonly int[] _deliveries;
    private readonly int[] _acked;
    private readonly long[]?[]? _arrivedAt;
    private readonly int _recipientSlots;
    private readonly LatencySamples _ackLatency = new();
    private readonly LatencySamples _deliverLatency = new();
    private int _sent;
    private long _refused;
    private long _unknownDeliveries;
    private long _duplicates;
    private long _misdelivered;
    private long _severalRecipients;

    /// <param name="capacity">The most messages this run may send; sends beyond it are not made.</param>
    /// <param name="recipientSlots">
    /// Users that may receive (slots 0 … n − 1, see <see cref="DeliverySink.Register"/>); with them, arrivals of a message
    /// owed to several users are told apart by recipient, so a second arrival at one user is a duplicate even while
    /// another user still waits. 0 (or more than <see cref="MaxRecipientBitsetBytes"/> would hold): by count only.
    /// </param>
    public DeliveryLedger(int capacity, int recipientSlots = 0)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        ArgumentOutOfRangeException.ThrowIfNegative(recipientSlots);
        _sentTicks = new long[capacity];
        _expectedDeliveries = new int[capacity];
        _recipients = new string?[capacity];
        _deliveries = new int[capacity];
        _acked = new int[capacity];
        var words = (recipientSlots + BitsPerWord - 1) / BitsPerWord;
        if (recipientSlots > 0 && (long)capacity * words * sizeof(long) <= MaxRecipientBitsetBytes)
        {
            _recipientSlots = recipientSlots;
            _arrivedAt = new long[]?[capacity];
        }
    }

    public int Capacity => _sentTicks.Length;

    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Reserves the next message index, or -1 when the ledger is full.</summary>
    /// <param name="expectedDeliveries">How many recipients must receive it.</param>
    /// <param name="scheduledTicks">
    /// When the open loop scheduled it (<see cref="Stopwatch"/> timestamp): its latencies count from there, so time the
    /// generator spent behind schedule is in them rather than hidden.
    /// </param>
    /// <param name="recipientId">
    /// The one user who must receive it (a one-to-one message), or null when it goes to several: an arrival at any
    /// other user is counted misdelivered, not delivered.
    /// </param>
    public int Reserve(int expectedDeliveries, long scheduledTicks, string? recipientId = null)
    {
        var index = Interlocked.Increment(ref _sent) - 1;
        if (index >= _sentTicks.Length)
        {
            Interlocked.Decrement(ref _sent);
            return -1;
        }

        _expectedDeliveries[index] = expectedDeliveries;
        _recipients[index] = recipientId;
        if (recipientId is null && expectedDeliveries > 1)
        {
            Interlocked.Increment(ref _severalRecipients);
        }

        Volatile.Write(ref _sentTicks[index], scheduledTicks);
        return index;
    }

    /// <summary>
    /// The send was acknowledged as stored (or refused, which counts it as not sent for delivery). The first answer
    /// stands: a late timeout after an ack must not turn a stored message into a refused one.
    /// </summary>
    public void Acked(int index, bool stored)
    {
        if (Interlocked.CompareExchange(ref _acked[index], stored ? 1 : 2, 0) != 0)
        {
            return;
        }

        if (stored)
        {
            _ackLatency.Add(Stopwatch.GetElapsedTime(Volatile.Read(ref _sentTicks[index])).TotalMilliseconds);
        }
        else
        {
            Interlocked.Increment(ref _refused);
        }
    }

    /// <summary>
    /// User <paramref name="receiverId"/> (slot <paramref name="receiverSlot"/>, or -1 when it has none) received message
    /// <paramref name="index"/>. The first arrival per owed recipient is delivered and timed; another at the same
    /// recipient is a duplicate; one at a user it was not for is misdelivered.
    /// </summary>
    public void Delivered(int index, string receiverId, int receiverSlot = -1)
    {
        if ((uint)index >= (uint)Sent)
        {
            Interlocked.Increment(ref _unknownDeliveries);
            return;
        }

        var recipient = _recipients[index];
        if (recipient is not null)
        {
            if (!string.Equals(recipient, receiverId, StringComparison.Ordinal))
            {
                Interlocked.Increment(ref _misdelivered);
                return;
            }

            // The one recipient: a second arrival there is a duplicate by count (see Count).
            Arrive(index);
            return;
        }

        if (_arrivedAt is null || _expectedDeliveries[index] <= 1)
        {
            Arrive(index);
            return;
        }

        if ((uint)receiverSlot >= (uint)_recipientSlots)
        {
            // A user outside the run's population cannot be one of its recipients.
            Interlocked.Increment(ref _misdelivered);
            return;
        }

        var bits = Volatile.Read(ref _arrivedAt[index]);
        if (bits is null)
        {
            var fresh = new long[(_recipientSlots + BitsPerWord - 1) / BitsPerWord];
            bits = Interlocked.CompareExchange(ref _arrivedAt[index], fresh, null) ?? fresh;
        }

        var bit = 1L << (receiverSlot % BitsPerWord);
        if ((Interlocked.Or(ref bits[receiverSlot / BitsPerWord], bit) & bit) != 0)
        {
            Interlocked.Increment(ref _duplicates);
            return;
        }

        if (!Arrive(index))
        {
            // More distinct users got it than it was owed to: the extra one was not a recipient.
            Interlocked.Decrement(ref _deliveries[index]);
            Interlocked.Increment(ref _misdelivered);
        }
    }

    /// <summary>Counts an arrival of <paramref name="index"/>, timed when it is owed; false when it was not.</summary>
    private bool Arrive(int index)
    {
        var count = Interlocked.Increment(ref _deliveries[index]);
        if (count > _expectedDeliveries[index])
        {
            return false;
        }

        _deliverLatency.Add(Stopwatch.GetElapsedTime(Volatile.Read(ref _sentTicks[index])).TotalMilliseconds);
        return true;
    }

    /// <summary>Arrivals seen so far of every kind (including duplicates, misdelivered and unknown ones).</summary>
    public long DeliveriesSoFar()
    {
        long total = Interlocked.Read(ref _duplicates) + Interlocked.Read(ref _misdelivered) + Interlocked.Read(ref _unknownDeliveries);
        var sent = Sent;
        for (var i = 0; i < sent; i++)
        {
            total += Volatile.Read(ref _deliveries[i]);
        }

        return total;
    }

    /// <summary>Deliveries still owed: expected ones of stored messages that have not arrived.</summary>
    public long Outstanding()
    {
        long owed = 0;
        var sent = Sent;
        for (var i = 0; i < sent; i++)
        {
            if (Volatile.Read(ref _acked[i]) != 2)
            {
                owed += Math.Max(0, _expectedDeliveries[i] - Volatile.Read(ref _deliveries[i]));
            }
        }

        return owed;
    }

    /// <summary>
    /// The counts and latencies now. A delivery still owed (lost) or an ack never answered is a latency sample too, at
    /// the time it has been waited for so far (from its scheduled send to now): it has not arrived, so its latency is at
    /// least that. Leaving it out would let p99 look good while messages are missing; its percentiles are lower bounds
    /// (<see cref="LatencySummary.LowerBoundsFrom"/>).
    /// </summary>
    public DeliveryCounts Count()
    {
        var sent = Sent;
        var now = Stopwatch.GetTimestamp();
        var lostWaits = new List<double>();
        var unansweredWaits = new List<double>();
        long acked = 0, expected = 0, delivered = 0, lost = 0, duplicates = Interlocked.Read(ref _duplicates);
        for (var i = 0; i < sent; i++)
        {
            var ack = Volatile.Read(ref _acked[i]);
            if (ack == 1)
            {
                acked++;
            }

            if (ack == 2)
            {
                continue;
            }

            var waited = Stopwatch.GetElapsedTime(Volatile.Read(ref _sentTicks[i]), now).TotalMilliseconds;
            if (ack == 0)
            {
                unansweredWaits.Add(waited);
            }

            var want = _expectedDeliveries[i];
            var got = Volatile.Read(ref _deliveries[i]);
            expected += want;
            delivered += Math.Min(got, want);
            lost += Math.Max(0, want - got);
            duplicates += Math.Max(0, got - want);
            for (var missing = got; missing < want; missing++)
            {
                lostWaits.Add(waited);
            }
        }

        return new DeliveryCounts(sent, acked, Interlocked.Read(ref _refused), expected, delivered, lost, duplicates,
            Interlocked.Read(ref _unknownDeliveries), _ackLatency.Summarize(unansweredWaits), _deliverLatency.Summarize(lostWaits))
        {
            Misdelivered = Interlocked.Read(ref _misdelivered),
            PerRecipient = _arrivedAt is not null || Interlocked.Read(ref _severalRecipients) == 0,
        };
    }
}
