namespace Orleans.Im.CustomerService;

/// <summary>An agent in the queue's state.</summary>
[GenerateSerializer, Alias("im.cs.AgentRecord")]
public sealed class AgentRecord
{
    [Id(0)]
    public string AgentId { get; set; } = "";

    /// <summary>The agent chose to take sessions (the console's online switch).</summary>
    [Id(1)]
    public bool Available { get; set; }

    /// <summary>The agent has a connected device (as the user grain reports it, after its offline grace).</summary>
    [Id(2)]
    public bool PresenceOnline { get; set; }

    /// <summary>When the agent last got a session or came online: among equally loaded agents, the longest idle wins.</summary>
    [Id(3)]
    public DateTimeOffset IdleSince { get; set; }

    /// <summary>The agent's display name, shown to users when the shop says so.</summary>
    [Id(4)]
    public string? DisplayName { get; set; }

    /// <summary>This agent's own maximum of concurrent sessions; null: the shop's setting.</summary>
    [Id(5)]
    public int? MaxSessions { get; set; }

    public bool Online => Available && PresenceOnline;
}
