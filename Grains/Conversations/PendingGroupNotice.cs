using Orleans.Im.Messages;

namespace Orleans.Im.Conversations;

/// <summary>
/// A group notice stored with the change it tells of, in the same write, and kept until it is in the log: a silo that
/// dies between the two, or a log that refuses the append, leaves it to be posted later (at the next activation, send
/// or change) instead of lost. Posted again after it was stored, it is found by its client message id, not told twice.
/// </summary>
/// <param name="ActorId">Who made the change: the notice's sender.</param>
/// <param name="ClientMsgId">Fixed when the change is made, so that every attempt to post it is the same message.</param>
/// <param name="Content">The notice (see <see cref="GroupNotice.ToContent"/>).</param>
[GenerateSerializer, Immutable, Alias("im.PendingGroupNotice")]
public sealed record PendingGroupNotice(
    [property: Id(0)] string ActorId,
    [property: Id(1)] string ClientMsgId,
    [property: Id(2)] MessageContent Content);
