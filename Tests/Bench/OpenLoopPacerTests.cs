using System.Diagnostics;
using Orleans.Im.Bench.Load;

namespace Orleans.Im.Tests.Bench;

/// <summary>
/// The pacer's schedule is what latencies count from: each item must carry its own scheduled time (start + (n + 1) ÷ rate),
/// whatever time the generator got round to issuing it, and a stall must show as lag.
/// </summary>
[Trait("Category", "Unit")]
public sealed class OpenLoopPacerTests
{
    private const double Rate = 1000;
    private const int Items = 30;
    private static readonly TimeSpan Stall = TimeSpan.FromMilliseconds(300);

    [Fact]
    public async Task Items_carry_their_scheduled_time_and_a_stall_shows_as_lag()
    {
        var scheduled = new List<long>();
        var issuedAt = new List<long>();
        // Until 30 items are issued (a time limit would make the count depend on how busy the machine is).
        var result = await OpenLoopPacer.RunAsync(Rate, TimeSpan.FromSeconds(30), (n, at) =>
        {
            scheduled.Add(at);
            issuedAt.Add(Stopwatch.GetTimestamp());
            if (n == 10)
            {
                // The generator stalls (a GC pause, a blocked callback): the items due meanwhile are issued late.
                Thread.Sleep(Stall);
            }
        }, () => scheduled.Count >= Items);

        Assert.Equal(scheduled.Count, result.Issued);
        Assert.True(result.Issued >= Items, $"{result.Issued} issued");
        var step = Stopwatch.Frequency / Rate;
        for (var n = 1; n < scheduled.Count; n++)
        {
            // One item every 1/rate seconds, to within rounding, however late each was issued.
            Assert.InRange(scheduled[n] - scheduled[n - 1], (long)step - 1, (long)step + 1);
            Assert.True(issuedAt[n] >= scheduled[n], $"item {n} issued before its time");
        }

        // Item 11 was due 1 ms after item 10 but came after the stall.
        Assert.True(Stopwatch.GetElapsedTime(scheduled[11], issuedAt[11]) >= Stall * 0.9, "item 11 was not late");
        Assert.True(result.MaxLag >= Stall * 0.9, $"largest lag {result.MaxLag.TotalMilliseconds} ms");
    }
}
