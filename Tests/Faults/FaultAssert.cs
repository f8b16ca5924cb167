namespace Orleans.Im.Tests.Faults;

/// <summary>What every fault drill must show, whatever the fault.</summary>
public static class FaultAssert
{
    /// <summary>
    /// Zero acked messages lost, zero duplicates shown, zero ordering violations, zero gaps left, every message acked in the
    /// end, and no error that a client retrying as the SDK asks would have had to show its user.
    /// </summary>
    public static void Clean(DeliveryReport report)
    {
        Assert.True(report.Acked > 0, "nothing was sent");
        Assert.Equal(
            (AckedButLost: 0, DuplicatesShown: 0, OrderingViolations: 0, GapsNeverFilled: 0, NeverAcked: 0, OtherErrors: 0),
            (report.AckedButLost, report.DuplicatesShown, report.OrderingViolations, report.GapsNeverFilled, report.NeverAcked, report.OtherErrors));
    }
}
