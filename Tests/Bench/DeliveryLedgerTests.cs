using System.Diagnostics;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Tests.Bench;

/// <summary>
/// The load generator's ledger decides what the benchmarks call delivered, lost and duplicated: its counting is checked
/// here, so that a figure in docs/BENCHMARKS.md cannot come from a miscount.
/// </summary>
[Trait("Category", "Unit")]
public sealed class DeliveryLedgerTests
{
    [Fact]
    public void Deliveries_are_counted_per_message_and_recipient_and_refused_sends_owe_nothing()
    {
        var ledger = new DeliveryLedger(10);
        var twoRecipients = ledger.Reserve(2, Stopwatch.GetTimestamp());
        var oneRecipient = ledger.Reserve(1, Stopwatch.GetTimestamp());
        var refused = ledger.Reserve(3, Stopwatch.GetTimestamp());
        ledger.Acked(twoRecipients, stored: true);
        ledger.Acked(oneRecipient, stored: true);
        ledger.Acked(refused, stored: false);

        ledger.Delivered(twoRecipients, "bob");
        ledger.Delivered(twoRecipients, "bob");
        ledger.Delivered(oneRecipient, "bob");
        ledger.Delivered(oneRecipient, "bob");

        var counts = ledger.Count();
        Assert.Equal(3, counts.Sent);
        Assert.Equal(2, counts.Acked);
        Assert.Equal(1, counts.Refused);
        Assert.Equal(3, counts.ExpectedDeliveries);
        Assert.Equal(3, counts.Delivered);
        Assert.Equal(0, counts.Lost);
        Assert.Equal(1, counts.Duplicates);
        Assert.Equal(1.0, counts.DeliveredRatio);
        Assert.Equal(0, ledger.Outstanding());
        Assert.Equal(4, ledger.DeliveriesSoFar());

        // Only first arrivals per owed recipient are timed; the duplicate is not a latency sample.
        Assert.Equal(2, counts.AckLatency.Count);
        Assert.Equal(3, counts.DeliverLatency.Count);
    }

    [Fact]
    public void What_has_not_arrived_is_outstanding_then_lost()
    {
        var ledger = new DeliveryLedger(10);
        var message = ledger.Reserve(5, Stopwatch.GetTimestamp());
        ledger.Delivered(message, "bob");
        ledger.Delivered(message, "bob");

        // Not acked yet: still owed (an ack can come after the first pushes).
        Assert.Equal(3, ledger.Outstanding());
        ledger.Acked(message, stored: true);

        var counts = ledger.Count();
        Assert.Equal(3, ledger.Outstanding());
        Assert.Equal(5, counts.ExpectedDeliveries);
        Assert.Equal(2, counts.Delivered);
        Assert.Equal(3, counts.Lost);
        Assert.Equal(0.4, counts.DeliveredRatio, precision: 6);
    }

    [Fact]
    public void A_full_ledger_refuses_more_messages_and_arrivals_it_never_sent_are_unknown()
    {
        var ledger = new DeliveryLedger(2);
        Assert.Equal(0, ledger.Reserve(1, Stopwatch.GetTimestamp()));
        Assert.Equal(1, ledger.Reserve(1, Stopwatch.GetTimestamp()));
        Assert.Equal(-1, ledger.Reserve(1, Stopwatch.GetTimestamp()));
        Assert.Equal(2, ledger.Sent);

        ledger.Delivered(7, "bob");
        ledger.Delivered(-1, "bob");

        var counts = ledger.Count();
        Assert.Equal(2, counts.Unknown);
        Assert.Equal(0, counts.Delivered);
    }

    [Fact]
    public void The_first_answer_to_a_send_is_the_one_that_counts()
    {
        var ledger = new DeliveryLedger(4);
        var message = ledger.Reserve(1, Stopwatch.GetTimestamp());
        ledger.Acked(message, stored: true);

        // A timeout firing after the ack (or a second ack) changes nothing.
        ledger.Acked(message, stored: false);

        var counts = ledger.Count();
        Assert.Equal(1, counts.Acked);
        Assert.Equal(0, counts.Refused);
        Assert.Equal(1, counts.AckLatency.Count);
    }

    [Fact]
    public async Task Concurrent_receivers_are_counted_exactly()
    {
        const int Messages = 2_000;
        const int Recipients = 4;
        var ledger = new DeliveryLedger(Messages);
        for (var i = 0; i < Messages; i++)
        {
            ledger.Acked(ledger.Reserve(Recipients, Stopwatch.GetTimestamp()), stored: true);
        }

        // Each recipient on its own thread, as each bench user's receive loop is.
        await Task.WhenAll(Enumerable.Range(0, Recipients).Select(_ => Task.Run(() =>
        {
            for (var i = 0; i < Messages; i++)
            {
                ledger.Delivered(i, "bob");
            }
        })));

        var counts = ledger.Count();
        Assert.Equal(Messages * Recipients, counts.Delivered);
        Assert.Equal(0, counts.Lost);
        Assert.Equal(0, counts.Duplicates);
        Assert.Equal(Messages * Recipients, counts.DeliverLatency.Count);
    }

    [Fact]
    public void The_sink_counts_only_this_runs_messages_from_others()
    {
        var sink = new DeliverySink();
        var ledger = new DeliveryLedger(4);
        var message = ledger.Reserve(2, Stopwatch.GetTimestamp());
        ledger.Acked(message, stored: true);

        // Before a run is attached, arrivals go nowhere.
        sink.OnMessage("bob", "alice", $"run1-{message}");
        sink.Attach("run1", ledger);

        sink.OnMessage("bob", "alice", $"run1-{message}");
        sink.OnMessage("alice", "alice", $"run1-{message}");        // the sender's own echo
        sink.OnMessage("carol", "alice", $"run0-{message}");        // an earlier run's message
        sink.OnMessage("carol", "alice", "run1-not-a-number");
        sink.OnMessage("carol", "alice", $"run1-{message}");

        var counts = ledger.Count();
        Assert.Equal(2, counts.Delivered);
        Assert.Equal(0, counts.Duplicates);
        Assert.Equal(0, counts.Lost);
    }

    [Fact]
    public void Latency_counts_from_the_scheduled_send_not_from_when_the_generator_got_round_to_it()
    {
        // Scheduled a second ago: the generator stalled that long before it reserved and sent the message.
        var ledger = new DeliveryLedger(4);
        var message = ledger.Reserve(1, Stopwatch.GetTimestamp() - Stopwatch.Frequency);
        ledger.Acked(message, stored: true);
        ledger.Delivered(message, "bob");

        var counts = ledger.Count();
        Assert.True(counts.AckLatency.P50 >= 1000, $"send→ack {counts.AckLatency}");
        Assert.True(counts.DeliverLatency.P50 >= 1000, $"send→deliver {counts.DeliverLatency}");
    }

    [Fact]
    public void A_lost_delivery_is_a_latency_sample_at_its_wait_so_p99_cannot_look_good_while_messages_are_missing()
    {
        // 98 fast deliveries and 2 that never came, of messages scheduled 2 s ago.
        var ledger = new DeliveryLedger(100);
        var twoSecondsAgo = Stopwatch.GetTimestamp() - 2 * Stopwatch.Frequency;
        for (var i = 0; i < 100; i++)
        {
            var message = ledger.Reserve(1, i < 98 ? Stopwatch.GetTimestamp() : twoSecondsAgo);
            ledger.Acked(message, stored: true);
            if (i < 98)
            {
                ledger.Delivered(message, "bob");
            }
        }

        var latency = ledger.Count().DeliverLatency;
        Assert.Equal(100, latency.Count);
        Assert.Equal(2, latency.Unarrived);
        Assert.True(latency.P99 >= 2000, $"p99 {latency.P99} ms with 2 % lost");
        Assert.Contains("p99 ≥ ", latency.ToString(), StringComparison.Ordinal);
        Assert.DoesNotContain("p50 ≥ ", latency.ToString(), StringComparison.Ordinal);
    }

    [Fact]
    public void An_arrival_at_a_user_the_message_was_not_for_is_misdelivered_not_delivered()
    {
        var ledger = new DeliveryLedger(4);
        var message = ledger.Reserve(1, Stopwatch.GetTimestamp(), recipientId: "bob");
        ledger.Acked(message, stored: true);

        ledger.Delivered(message, "carol");

        var counts = ledger.Count();
        Assert.Equal(1, counts.Misdelivered);
        Assert.Equal(0, counts.Delivered);
        Assert.Equal(1, counts.Lost);
        Assert.Equal(1, ledger.Outstanding());

        ledger.Delivered(message, "bob");
        Assert.Equal(1, ledger.Count().Delivered);
    }

    [Fact]
    public void With_several_recipients_a_second_arrival_at_one_user_is_a_duplicate_even_while_another_still_waits()
    {
        var sink = new DeliverySink();
        sink.Register(["alice", "bob", "carol"]);
        var ledger = new DeliveryLedger(4, sink.RegisteredUsers);
        sink.Attach("run", ledger);
        var message = ledger.Reserve(2, Stopwatch.GetTimestamp());
        ledger.Acked(message, stored: true);

        // Bob gets it twice, Carol never: by count that looked like two deliveries and nothing lost.
        sink.OnMessage("bob", "alice", $"run-{message}");
        sink.OnMessage("bob", "alice", $"run-{message}");
        sink.OnMessage("dave", "alice", $"run-{message}");           // not one of the run's users

        var counts = ledger.Count();
        Assert.True(counts.PerRecipient);
        Assert.Equal(1, counts.Delivered);
        Assert.Equal(1, counts.Lost);
        Assert.Equal(1, counts.Duplicates);
        Assert.Equal(1, counts.Misdelivered);
        Assert.Equal(1, ledger.Outstanding());
    }
}
