using System.Globalization;
using System.Text;

namespace Orleans.Im.Tests.Faults;

/// <summary>
/// What a <see cref="DeliveryChecker"/> found after a fault drill: the figures <c>docs/RELIABILITY.md</c> records. The first five
/// must be zero (or, for the outage, merely reported); the rest say how hard the drill was.
/// </summary>
/// <param name="AckedButLost">Acknowledged messages missing from the conversation's log (or stored at another seq than acked).</param>
/// <param name="DuplicatesShown">Messages a client showed twice: the same seq again, or one client message id under two seqs.</param>
/// <param name="OrderingViolations">Deliveries whose seq went backwards within a conversation on one client.</param>
/// <param name="GapsNeverFilled">Messages of the log a member's client never showed by the end (after the settle wait).</param>
/// <param name="LongestSendOutage">The longest time any client waited from a send's first attempt to its ack (failures, refusals, blocked sends and retries included).</param>
/// <param name="Sent">Messages the clients tried to send (distinct client message ids).</param>
/// <param name="Acked">Messages acknowledged (sent or duplicate).</param>
/// <param name="NeverAcked">Messages still without an ack when the drill ended (not lost: never promised).</param>
/// <param name="RetryableErrors">Retryable errors the clients saw and retried (unavailable, rate limited, connection lost).</param>
/// <param name="OtherErrors">Errors that are not retryable: a client following the SDK would show these to its user.</param>
/// <param name="SlowestRefusal">The longest any single attempt took to come back with an error (how fast failures are).</param>
/// <param name="Delivered">Messages shown, summed over clients.</param>
/// <param name="GapExamples">The first few gaps never filled, for the failure message.</param>
public sealed record DeliveryReport(
    int AckedButLost,
    int DuplicatesShown,
    int OrderingViolations,
    int GapsNeverFilled,
    TimeSpan LongestSendOutage,
    int Sent,
    int Acked,
    int NeverAcked,
    int RetryableErrors,
    int OtherErrors,
    TimeSpan SlowestRefusal,
    int Delivered,
    IReadOnlyList<string> GapExamples)
{
    /// <summary>One line per figure, for the test output and the reliability page.</summary>
    public string Describe(string drill)
    {
        var text = new StringBuilder();
        text.AppendLine(CultureInfo.InvariantCulture, $"fault drill: {drill}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  sent {Sent}, acked {Acked}, never acked {NeverAcked}, delivered {Delivered}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  acked but lost {AckedButLost}, duplicates shown {DuplicatesShown}, ordering violations {OrderingViolations}, gaps never filled {GapsNeverFilled}");
        text.AppendLine(CultureInfo.InvariantCulture, $"  retryable errors {RetryableErrors}, other errors {OtherErrors}, slowest refusal {SlowestRefusal.TotalSeconds:0.00} s, longest time a client could not send {LongestSendOutage.TotalSeconds:0.0} s");
        foreach (var example in GapExamples)
        {
            text.AppendLine(CultureInfo.InvariantCulture, $"  {example}");
        }

        return text.ToString();
    }
}
