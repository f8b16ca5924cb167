using Orleans.Im.Client;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.AgentConsole;

/// <summary>
/// Everything the screen shows. Changed by the key loop and by the event pumps, always under <see cref="Sync"/>;
/// <see cref="Dirty"/> tells the loop to redraw.
/// </summary>
public sealed class ConsoleState(string agentId, string shopId)
{
    /// <summary>Messages kept per conversation on screen.</summary>
    public const int HistoryKept = 200;

    public object Sync { get; } = new();

    public string AgentId { get; } = agentId;

    public string ShopId { get; } = shopId;

    public bool Dirty { get; set; } = true;

    /// <summary>
    /// Whether the agent takes sessions, as last chosen here or read from the server's view; null until either. The
    /// console asserts it again after a reconnect, whichever it is.
    /// </summary>
    public bool? WantOnline { get; set; }

    /// <summary>
    /// Counts the agent's changes of <see cref="WantOnline"/>: a view asked for before the latest change does not
    /// overwrite it, and a failed change is rolled back only if no later one came.
    /// </summary>
    public int WantOnlineVersion { get; set; }

    /// <summary>The latest agent view from the server; null before the first.</summary>
    public CsAgentView? View { get; set; }

    public ImClientStatus Connection { get; set; }

    /// <summary>The selected session's conversation id, if any.</summary>
    public string? Selected { get; set; }

    public Dictionary<string, List<Message>> Histories { get; } = new(StringComparer.Ordinal);

    public Dictionary<string, long> Unread { get; } = new(StringComparer.Ordinal);

    public InputMode Mode { get; set; }

    public string Input { get; set; } = "";

    public string Status { get; set; } = "";

    public IReadOnlyList<CsSession> Sessions => View?.Sessions ?? (IReadOnlyList<CsSession>)[];

    /// <summary>Adds a message to a conversation's history once (pushes and pulls may both bring it), in seq order.</summary>
    public void Add(Message message)
    {
        if (!Histories.TryGetValue(message.ConversationId, out var history))
        {
            history = [];
            Histories[message.ConversationId] = history;
        }

        var at = history.FindIndex(m => m.Seq == message.Seq);
        if (at >= 0)
        {
            history[at] = message;
        }
        else
        {
            history.Add(message);
            history.Sort((a, b) => a.Seq.CompareTo(b.Seq));
            if (history.Count > HistoryKept)
            {
                history.RemoveRange(0, history.Count - HistoryKept);
            }
        }

        Dirty = true;
    }

    /// <summary>Moves the selection by <paramref name="step"/> sessions, wrapping; selects the first when none is.</summary>
    public void Move(int step)
    {
        var sessions = Sessions;
        if (sessions.Count == 0)
        {
            Selected = null;
            return;
        }

        var index = sessions.ToList().FindIndex(s => s.ConversationId == Selected);
        index = index < 0 ? 0 : ((index + step) % sessions.Count + sessions.Count) % sessions.Count;
        Selected = sessions[index].ConversationId;
        Dirty = true;
    }

    public CsSession? SelectedSession => Sessions.FirstOrDefault(s => s.ConversationId == Selected);
}
