using Orleans.Im.EdgeHost.Sessions;
using Orleans.Im.Push;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// The edge puts each silo's numbered push calls back in the order the silo made them: a call that comes ahead of its
/// turn waits for those before it, until the window passes and they are taken as lost.
/// </summary>
[Trait("Category", "Unit")]
public sealed class PushCallSequencerTests
{
    private const long SiloA = 17;
    private const long SiloB = 42;

    private readonly ManualTimers _time = new();
    private readonly List<string> _delivered = [];
    private readonly PushCallSequencer _sequencer;

    public PushCallSequencerTests()
    {
        _sequencer = new PushCallSequencer(_time, batches => _delivered.AddRange(batches.Select(b => b.UserId)));
    }

    [Fact]
    public void Calls_in_turn_go_on_at_once()
    {
        Accept(SiloA, 1, "a1");
        Accept(SiloA, 2, "a2");
        Accept(SiloA, 3, "a3");

        Assert.Equal(["a1", "a2", "a3"], _delivered);
        Assert.Equal(0, _sequencer.Reordered);
        Assert.Equal(0, _time.Armed);
    }

    [Fact]
    public void A_silos_first_calls_are_ordered_too_its_count_starting_at_one()
    {
        Accept(SiloA, 2, "a2");
        Assert.Empty(_delivered);

        Accept(SiloA, 1, "a1");
        Assert.Equal(["a1", "a2"], _delivered);
    }

    [Fact]
    public void A_call_ahead_of_its_turn_waits_for_the_one_before_it_and_both_go_on_in_order()
    {
        Accept(SiloA, 1, "a1");
        Accept(SiloA, 3, "a3");
        Assert.Equal(["a1"], _delivered);

        Accept(SiloA, 2, "a2");

        Assert.Equal(["a1", "a2", "a3"], _delivered);
        Assert.Equal(1, _sequencer.Reordered);
        Assert.Equal(0, _time.Armed); // nothing held, no wait left
    }

    [Fact]
    public void Once_the_window_passes_the_missing_call_is_taken_as_lost_and_if_it_comes_after_all_it_still_goes_on()
    {
        Accept(SiloA, 1, "a1");
        Accept(SiloA, 3, "a3");
        Accept(SiloA, 4, "a4");

        _time.FireAll();
        Assert.Equal(["a1", "a3", "a4"], _delivered);

        Accept(SiloA, 2, "a2");
        Accept(SiloA, 5, "a5");
        Assert.Equal(["a1", "a3", "a4", "a2", "a5"], _delivered);
    }

    [Fact]
    public void Calls_taken_as_lost_make_devices_sync_every_one_when_nobody_knows_whose_and_a_late_ones_users_when_it_comes()
    {
        var lost = new List<string[]?>();
        var sequencer = new PushCallSequencer(_time, batches => _delivered.AddRange(batches.Select(b => b.UserId)), lost: lost.Add);
        sequencer.Accept(SiloA, 1, [new UserEventBatch("a1", [])]);
        sequencer.Accept(SiloA, 3, [new UserEventBatch("a3", [])]);
        Assert.Empty(lost);

        // Call 2 never came within the window: whose pushes it carried is unknown.
        _time.FireAll();
        Assert.Equal([null], lost);

        // It comes after all, behind call 3: its users' devices got it out of turn.
        sequencer.Accept(SiloA, 2, [new UserEventBatch("a2", []), new UserEventBatch("a2", []), new UserEventBatch("b2", [])]);
        Assert.Equal(2, lost.Count);
        Assert.Equal(["a2", "b2"], lost[1] ?? []);

        // Calls in turn lose nothing.
        sequencer.Accept(SiloA, 4, [new UserEventBatch("a4", [])]);
        Assert.Equal(2, lost.Count);
    }

    [Fact]
    public void Each_silo_is_ordered_on_its_own()
    {
        Accept(SiloA, 1, "a1");
        Accept(SiloA, 3, "a3");
        Accept(SiloB, 1, "b1");
        Accept(SiloB, 2, "b2");

        Assert.Equal(["a1", "b1", "b2"], _delivered);
        Assert.Equal(2, _sequencer.SenderCount);
    }

    [Fact]
    public void Beyond_the_most_calls_it_holds_the_missing_one_is_taken_as_lost_at_once()
    {
        Accept(SiloA, 1, "a1");
        for (var number = 3; number <= PushCallSequencer.MaxHeldCalls + 3; number++)
        {
            Accept(SiloA, number, $"a{number}");
        }

        Assert.Equal(PushCallSequencer.MaxHeldCalls + 2, _delivered.Count);
        Assert.Equal(["a1", "a3", "a4"], _delivered.Take(3));
        Assert.Equal($"a{PushCallSequencer.MaxHeldCalls + 3}", _delivered[^1]);
        Assert.Equal(0, _time.Armed);
    }

    [Fact]
    public void A_callback_already_on_its_way_when_the_wait_ended_does_not_cut_short_the_next_wait()
    {
        Accept(SiloA, 1, "a1");
        Accept(SiloA, 3, "a3");
        Accept(SiloA, 2, "a2"); // the wait for 2 ends; its timer's callback may already be on its way
        Accept(SiloA, 5, "a5"); // a new wait, for 4

        _time.FireLate();
        Assert.Equal(["a1", "a2", "a3"], _delivered);

        Accept(SiloA, 4, "a4");
        Assert.Equal(["a1", "a2", "a3", "a4", "a5"], _delivered);
    }

    [Fact]
    public void A_call_still_held_after_the_ones_in_turn_went_on_waits_a_whole_window_of_its_own()
    {
        Accept(SiloA, 1, "a1");
        Accept(SiloA, 3, "a3");
        Accept(SiloA, 5, "a5");
        _time.Advance(PushCallSequencer.Window / 2);
        Accept(SiloA, 2, "a2"); // 2 and 3 go on; 5 now waits for 4, a window from now
        _time.Advance(PushCallSequencer.Window / 2);
        _time.FireLate();
        Assert.Equal(["a1", "a2", "a3"], _delivered);

        _time.FireAll();
        Assert.Equal(["a1", "a2", "a3", "a5"], _delivered);
    }

    [Fact]
    public void A_call_that_cannot_be_handed_on_is_reported_and_the_others_still_go_on()
    {
        var failures = new List<Exception>();
        var delivered = new List<string>();
        var sequencer = new PushCallSequencer(_time, batches =>
        {
            if (batches[0].UserId == "bad")
            {
                throw new InvalidOperationException("odd event");
            }

            delivered.Add(batches[0].UserId);
        }, failures.Add);

        sequencer.Accept(SiloA, 1, [new UserEventBatch("a1", [])]);
        sequencer.Accept(SiloA, 3, [new UserEventBatch("a3", [])]);
        sequencer.Accept(SiloA, 4, [new UserEventBatch("bad", [])]);
        sequencer.Accept(SiloA, 5, [new UserEventBatch("a5", [])]);
        _time.FireAll();

        Assert.Equal(["a1", "a3", "a5"], delivered);
        Assert.Single(failures);
    }

    private void Accept(long sender, long number, string user) =>
        _sequencer.Accept(sender, number, [new UserEventBatch(user, [])]);
}
