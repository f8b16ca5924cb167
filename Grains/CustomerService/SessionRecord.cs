namespace Orleans.Im.CustomerService;

/// <summary>An open session in the queue's state (queued or assigned).</summary>
[GenerateSerializer, Alias("im.cs.SessionRecord")]
public sealed class SessionRecord
{
    [Id(0)]
    public string SessionId { get; set; } = "";

    [Id(1)]
    public string UserId { get; set; } = "";

    /// <summary>Null while queued.</summary>
    [Id(2)]
    public string? AgentId { get; set; }

    [Id(3)]
    public DateTimeOffset OpenedAt { get; set; }

    /// <summary>The seq of the user's message that opened the session.</summary>
    [Id(4)]
    public long FirstSeq { get; set; }

    [Id(5)]
    public DateTimeOffset? AssignedAt { get; set; }

    /// <summary>When the oldest user message the agent has not answered arrived (or the session was handed over); null when answered.</summary>
    [Id(6)]
    public DateTimeOffset? AwaitingSince { get; set; }

    [Id(7)]
    public DateTimeOffset LastUserMessageAt { get; set; }

    [Id(8)]
    public DateTimeOffset? LastAgentMessageAt { get; set; }

    /// <summary>The queue position the user was last told (0: none), so that only changes are told.</summary>
    [Id(9)]
    public int ToldPosition { get; set; }

    /// <summary>An agent this session should not go back to (who handed it back or did not answer).</summary>
    [Id(10)]
    public string? AvoidAgentId { get; set; }

    /// <summary>
    /// The conversation grain knows the current agent (<see cref="AgentId"/>, or none). False while a hand-over is
    /// pending or failed; the timeout reminder retries it.
    /// </summary>
    [Id(11)]
    public bool HandedOver { get; set; } = true;

    /// <summary>
    /// While queued with no human agent online: the shop's auto-reply robot, which answers meanwhile (the conversation
    /// grain knows it as the acting agent). Null while an agent has the session or nobody answers.
    /// </summary>
    [Id(12)]
    public string? RobotId { get; set; }

    /// <summary>When <see cref="AvoidAgentId"/> handed the session back: after the agent-answer timeout they may take it again.</summary>
    [Id(13)]
    public DateTimeOffset? AvoidSince { get; set; }

    /// <summary>When the session last went into the queue (opened or requeued); null in records from before it was kept.</summary>
    [Id(14)]
    public DateTimeOffset? QueuedSince { get; set; }

    /// <summary>The seq of the user's latest message the queue was told of (0 in records from before it was kept).</summary>
    [Id(15)]
    public long LastUserSeq { get; set; }

    /// <summary>
    /// The seq of the latest message the session's agent wrote (0: none yet, or in records from before it was kept). A
    /// user message told after it but written before it (a retell of a notice the queue lost) was answered already.
    /// </summary>
    [Id(16)]
    public long LastAgentSeq { get; set; }

    /// <summary>Who answers in the conversation now: the agent, else the robot covering the wait, else nobody.</summary>
    public string? AnswererId => AgentId ?? RobotId;
}
