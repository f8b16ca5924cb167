namespace Orleans.Im.Messages;

/// <summary>The ack of a send.</summary>
/// <param name="Status">What happened.</param>
/// <param name="Seq">The message's seq when sent or duplicate; 0 otherwise (and for instant messages).</param>
/// <param name="ServerTime">The message's server time when sent or duplicate.</param>
/// <param name="Error">A human-readable reason when refused.</param>
[GenerateSerializer, Immutable, Alias("im.SendResult")]
public sealed record SendResult(
    [property: Id(0)] SendStatus Status,
    [property: Id(1)] long Seq,
    [property: Id(2)] DateTimeOffset ServerTime,
    [property: Id(3)] string? Error = null)
{
    /// <summary>True when the message is (or already was) in the conversation.</summary>
    public bool IsAccepted => Status is SendStatus.Sent or SendStatus.Duplicate;

    /// <summary>A refusal with no seq.</summary>
    public static SendResult Refused(SendStatus status, string error) => new(status, 0, default, error);
}
