namespace Orleans.Im.CustomerService;

/// <summary>A shop's queue as a whole: for administrators, monitoring and tests.</summary>
/// <param name="Waiting">Queued user ids, head first.</param>
/// <param name="Sessions">Every open session (queued and assigned).</param>
/// <param name="Agents">The shop's agents.</param>
/// <param name="Ratings">Recent ratings, newest last.</param>
/// <param name="Settings">The settings in force.</param>
/// <param name="UnratedCount">Closed sessions their users may still rate.</param>
/// <param name="PendingReleaseCount">Closed sessions whose conversation has not yet been taken from its answerer (retried).</param>
[GenerateSerializer, Immutable, Alias("im.QueueSnapshot")]
public sealed record QueueSnapshot(
    [property: Id(0)] IReadOnlyList<string> Waiting,
    [property: Id(1)] IReadOnlyList<SessionView> Sessions,
    [property: Id(2)] IReadOnlyList<AgentInfo> Agents,
    [property: Id(3)] IReadOnlyList<SessionRating> Ratings,
    [property: Id(4)] CustomerServiceSettings Settings,
    [property: Id(5)] int UnratedCount = 0,
    [property: Id(6)] int PendingReleaseCount = 0);
