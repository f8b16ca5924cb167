namespace Orleans.Im.Messages;

/// <summary>How a message is delivered and kept.</summary>
[GenerateSerializer, Alias("im.MessageClass")]
public enum MessageClass
{
    /// <summary>Logged with a seq, pushed to online devices, pulled by the rest. The default.</summary>
    Persistent = 0,

    /// <summary>Typing, call signalling: pushed to online devices only, never logged, seq 0.</summary>
    Instant = 1,

    /// <summary>
    /// A system notice with a collapse key: logged and pushed like a persistent message, but a later notice with
    /// the same key supersedes earlier ones, so a user who was offline pulls only the latest per key.
    /// </summary>
    Notification = 2,
}
