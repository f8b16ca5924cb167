namespace Orleans.Im.Events;

/// <summary>
/// Where grains hand events for other systems. <see cref="Publish"/> only enqueues: it never waits for Redis and never
/// throws, so publishing cannot delay an ack or fail a send (the log in PostgreSQL stays the truth).
/// </summary>
public interface IEventFirehose
{
    /// <summary>Enqueues an event; events of one caller keep their order.</summary>
    void Publish(FirehoseEvent firehoseEvent);
}
