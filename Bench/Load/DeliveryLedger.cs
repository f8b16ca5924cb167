using System.Diagnostics;

namespace Orleans.Im.Bench.Load;

/// <summary>
/// Every message a run sends, by index: when it was scheduled to be sent, to how many recipients, whether it was acked and how often it
/// arrived. Thread-safe for concurrent senders and receivers; counts lost messages and duplicates at the end.
/// </summary>
public sealed class DeliveryLedger
{
    private readonly long[] _sentTicks;
    private readonly int[] _expectedDeliveries;
    private readonly int[] _deliveries;
    private readonly int[] _acked;
    private readonly LatencySamples _ackLatency = new();
    private readonly LatencySamples _deliverLatency = new();
    private int _sent;
    private long _refused;
    private long _unknownDeliveries;

    /// <param name="capacity">The most messages this run may send; sends beyond it are not made.</param>
    public DeliveryLedger(int capacity)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(capacity);
        _sentTicks = new long[capacity];
        _expectedDeliveries = new int[capacity];
        _deliveries = new int[capacity];
        _acked = new int[capacity];
    }

    public int Capacity => _sentTicks.Length;

    public int Sent => Volatile.Read(ref _sent);

    /// <summary>Reserves the next message index, or -1 when the ledger is full.</summary>
    /// <param name="expectedDeliveries">How many recipients must receive it.</param>
    /// <param name="scheduledTicks">
    /// When the open loop scheduled it (<see cref="Stopwatch"/> timestamp): its latencies count from there, so time the
    /// generator spent behind schedule is in them rather than hidden.
    /// </param>
    public int Reserve(int expectedDeliveries, long scheduledTicks)
    {
        var index = Interlocked.Increment(ref _sent) - 1;
        if (index >= _sentTicks.Length)
        {
            Interlocked.Decrement(ref _sent);
            return -1;
        }

        _expectedDeliveries[index] = expectedDeliveries;
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

    /// <summary>One recipient received message <paramref name="index"/>; the first arrival per recipient is timed.</summary>
    public void Delivered(int index)
    {
        if ((uint)index >= (uint)Sent)
        {
            Interlocked.Increment(ref _unknownDeliveries);
            return;
        }

        var count = Interlocked.Increment(ref _deliveries[index]);
        if (count <= _expectedDeliveries[index])
        {
            _deliverLatency.Add(Stopwatch.GetElapsedTime(Volatile.Read(ref _sentTicks[index])).TotalMilliseconds);
        }
    }

    /// <summary>Deliveries seen so far (including duplicates).</summary>
    public long DeliveriesSoFar()
    {
        long total = 0;
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

    public DeliveryCounts Count()
    {
        var sent = Sent;
        long acked = 0, expected = 0, delivered = 0, lost = 0, duplicates = 0;
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

            var want = _expectedDeliveries[i];
            var got = Volatile.Read(ref _deliveries[i]);
            expected += want;
            delivered += Math.Min(got, want);
            lost += Math.Max(0, want - got);
            duplicates += Math.Max(0, got - want);
        }

        return new DeliveryCounts(sent, acked, Interlocked.Read(ref _refused), expected, delivered, lost, duplicates,
            Interlocked.Read(ref _unknownDeliveries), _ackLatency.Summarize(), _deliverLatency.Summarize());
    }
}
