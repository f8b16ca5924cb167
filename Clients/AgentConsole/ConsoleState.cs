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
    /// Whether the agent takes sessions, as last chosen here or read from the server's view; null until either. Not
    /// asserted again after a reconnect: the queue keeps it, and the next view read replaces it.
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

    /// <summary>
    /// The messages on screen per conversation: the pulled history merged with what was pushed. An entry exists as soon
    /// as any message arrives; whether the history was pulled is <see cref="Loaded"/>.
    /// </summary>
    public Dictionary<string, List<Message>> Histories { get; } = new(StringComparer.Ordinal);

    /// <summary>The conversations whose history was pulled (since start, the last reconnect or Ctrl+R).</summary>
    public HashSet<string> Loaded { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Counts the times <see cref="Loaded"/> was cleared: a pull that started before a clear does not mark its
    /// conversation loaded, since what it brought may predate the reconnect.
    /// </summary>
    public int LoadGeneration { get; private set; }

    /// <summary>The replies that were not sent, one per conversation at most; see <see cref="UnsentReply"/>.</summary>
    public Dictionary<string, UnsentReply> Unsent { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Every reply that was given back as not sent, by conversation and text, until acked or its session ends: the same
    /// text sent again in the same session takes its client message id, also after a later failure took its place in
    /// <see cref="Unsent"/> (a new id would store it twice if the first attempt went out after all).
    /// </summary>
    public Dictionary<(string ConversationId, string Text), UnsentReply> Failed { get; } = [];

    /// <summary>A reply sent again (<paramref name="text"/> in <paramref name="session"/>): the failed one it repeats, if any.</summary>
    public UnsentReply? FailedReply(CsSession session, string text)
    {
        ArgumentNullException.ThrowIfNull(session);
        return Failed.TryGetValue((session.ConversationId, text), out var failed) && failed.SessionId == session.SessionId ? failed : null;
    }

    /// <summary>
    /// What was on the input line of each conversation the agent moved away from: it comes back there, and is never
    /// sent to the customer selected next by mistake.
    /// </summary>
    public Dictionary<string, string> Drafts { get; } = new(StringComparer.Ordinal);

    /// <summary>
    /// Unread counts per conversation, as pushed and synced. Kept also for a conversation not listed yet (a new session's
    /// first notice may come before the view that lists it), and dropped with the next view that does not list it.
    /// </summary>
    public Dictionary<string, long> Unread { get; } = new(StringComparer.Ordinal);

    public InputMode Mode { get; set; }

    public string Input { get; set; } = "";

    public string Status { get; set; } = "";

    public IReadOnlyList<CsSession> Sessions => View?.Sessions ?? (IReadOnlyList<CsSession>)[];

    /// <summary>
    /// Adds a message to a conversation's history once (pushes and pulls may both bring it), in seq order. A message
    /// already there is replaced by a copy of the same or a later revision (an edit or recall pushed, or pulled after
    /// one), never by an older one (a pull that was in flight while the change was pushed).
    /// </summary>
    public void Add(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!Histories.TryGetValue(message.ConversationId, out var history))
        {
            history = [];
            Histories[message.ConversationId] = history;
        }

        var at = history.FindIndex(m => m.Seq == message.Seq);
        if (at >= 0)
        {
            if (message.Revision >= history[at].Revision)
            {
                history[at] = message;
            }
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

    /// <summary>
    /// Merges a pulled page into the conversation's history (what was pushed while the pull was in flight stays) and
    /// marks the conversation loaded, unless <see cref="Loaded"/> was cleared since <paramref name="generation"/>.
    /// </summary>
    public void Merge(string conversationId, IEnumerable<Message> page, int generation)
    {
        ArgumentNullException.ThrowIfNull(page);
        if (!Histories.ContainsKey(conversationId))
        {
            Histories[conversationId] = [];
        }

        foreach (var message in page)
        {
            Add(message);
        }

        if (generation == LoadGeneration)
        {
            Loaded.Add(conversationId);
        }

        Dirty = true;
    }

    /// <summary>Every conversation's history is pulled again when next selected (after a reconnect, or on Ctrl+R).</summary>
    public void Unload()
    {
        Loaded.Clear();
        LoadGeneration++;
    }

    /// <summary>
    /// Puts the selected session's unsent reply back on the input line when the line is free, so that Enter sends it
    /// again; true when it is on the line now (put back, or there already). A reply stays unsent (in <see cref="Unsent"/>)
    /// until it is itself sent again, discarded with Esc (<see cref="DiscardUnsentOnLine"/>), acked late
    /// (<see cref="SentAfterAll"/>) or its session ends: sending other text does not drop it, it comes back here after.
    /// </summary>
    public bool RestoreUnsent()
    {
        if (SelectedSession is not { } session || !Unsent.TryGetValue(session.ConversationId, out var unsent)
            || unsent.SessionId != session.SessionId || Mode != InputMode.Reply)
        {
            return false;
        }

        if (Input.Length == 0)
        {
            Input = unsent.Text;
            Dirty = true;
        }

        return Input == unsent.Text;
    }

    /// <summary>Where the unsent reply of <paramref name="conversationId"/> is, for the status line; see <see cref="RestoreUnsent"/>.</summary>
    public string UnsentHint(string conversationId, string userId) =>
        !Unsent.ContainsKey(conversationId) ? ""
        : Selected != conversationId ? $"it comes back on the input line when you select {userId}"
        : Mode == InputMode.Reply && Input == Unsent[conversationId].Text ? "it is on the input line: Enter sends it again, Esc discards it"
        : "it comes back on the input line once that is empty (send or clear what you are typing)";

    /// <summary>
    /// Esc on the selected session's unsent reply: it is dropped for good (the agent's explicit choice). False, and
    /// nothing changes, when the input line holds anything else.
    /// </summary>
    public bool DiscardUnsentOnLine()
    {
        if (Mode != InputMode.Reply || Selected is null || !Unsent.TryGetValue(Selected, out var unsent) || Input != unsent.Text)
        {
            return false;
        }

        Unsent.Remove(Selected);
        Input = "";
        Dirty = true;
        return true;
    }

    /// <summary>
    /// A reply given back as unsent (no ack in time) was acked after all (the SDK resent it once the connection was
    /// back): it is no longer offered to send again, and leaves the input line if it waits there unchanged. True when it
    /// was still offered.
    /// </summary>
    public bool SentAfterAll(UnsentReply reply)
    {
        ArgumentNullException.ThrowIfNull(reply);
        if (Failed.TryGetValue((reply.ConversationId, reply.Text), out var failed) && failed.ClientMsgId == reply.ClientMsgId)
        {
            Failed.Remove((reply.ConversationId, reply.Text));
        }

        var offered = Unsent.TryGetValue(reply.ConversationId, out var unsent) && unsent.ClientMsgId == reply.ClientMsgId;
        if (offered)
        {
            Unsent.Remove(reply.ConversationId);
        }

        // Off the line if it waits there unchanged, also when a later failure took its place as the one offered.
        var onLine = Selected == reply.ConversationId && Mode == InputMode.Reply && Input == reply.Text;
        if (onLine)
        {
            Input = "";
        }

        Dirty |= offered || onLine;
        return offered || onLine;
    }

    /// <summary>Whether the latest view lists one of the agent's sessions in <paramref name="conversationId"/>.</summary>
    public bool IsListed(string conversationId) => Sessions.Any(s => s.ConversationId == conversationId);

    /// <summary>
    /// A pushed message (new, edited or recalled): kept only for a conversation the view lists. Others (a session that
    /// ended, one not yet in the view, the agent's other chats) are not shown, and a session listed later pulls its
    /// history when selected; keeping them would grow the console all shift.
    /// </summary>
    public bool AddPushed(Message message)
    {
        ArgumentNullException.ThrowIfNull(message);
        if (!IsListed(message.ConversationId))
        {
            return false;
        }

        Add(message);
        return true;
    }

    /// <summary>
    /// Moves the selection by <paramref name="step"/> sessions, wrapping; selects the first when none is. The reply being
    /// typed stays with its conversation (a draft, back when it is selected again); a transfer being typed is dropped.
    /// </summary>
    public void Move(int step)
    {
        var sessions = Sessions;
        var previous = Selected;
        if (sessions.Count == 0)
        {
            Selected = null;
            return;
        }

        var index = sessions.ToList().FindIndex(s => s.ConversationId == Selected);
        index = index < 0 ? 0 : ((index + step) % sessions.Count + sessions.Count) % sessions.Count;
        Selected = sessions[index].ConversationId;
        if (previous == Selected)
        {
            return;
        }

        if (previous is not null && Mode == InputMode.Reply && Input.Length > 0
            && !(Unsent.TryGetValue(previous, out var unsent) && unsent.Text == Input))
        {
            Drafts[previous] = Input;
        }

        Mode = InputMode.Reply;
        Input = Drafts.Remove(Selected, out var draft) ? draft : "";
        RestoreUnsent();
        Dirty = true;
    }

    public CsSession? SelectedSession => Sessions.FirstOrDefault(s => s.ConversationId == Selected);

    /// <summary>
    /// After a new <see cref="View"/>: when the selected session is gone (timed out, closed, handed back), the first one
    /// left is selected. What was typed for the one gone — a reply, a transfer's target — does not stay on the input line,
    /// where Enter would send it to the customer selected now: it is taken off, and the status shows the reply's text so
    /// that nothing the agent wrote is lost without a word. Likewise the drafts and unsent replies of sessions no longer
    /// listed are dropped (a customer's next session must not offer the last one's reply), the status showing them.
    /// </summary>
    public void SelectAnotherIfGone()
    {
        var listed = Sessions.ToDictionary(s => s.ConversationId, s => s.SessionId, StringComparer.Ordinal);
        ForgetUnlisted(listed);
        var dropped = new List<string>();
        foreach (var (conversationId, unsent) in Unsent.ToList())
        {
            if (listed.GetValueOrDefault(conversationId) != unsent.SessionId)
            {
                Unsent.Remove(conversationId);
                dropped.Add(unsent.Text);
            }
        }

        foreach (var key in Failed.Where(f => listed.GetValueOrDefault(f.Key.ConversationId) != f.Value.SessionId).Select(f => f.Key).ToList())
        {
            Failed.Remove(key);
        }

        foreach (var (conversationId, draft) in Drafts.ToList())
        {
            if (!listed.ContainsKey(conversationId))
            {
                Drafts.Remove(conversationId);
                dropped.Add(draft);
            }
        }

        if (dropped.Count > 0)
        {
            Status = $"a session ended before your reply was sent; it was not sent: {string.Join(" / ", dropped.Distinct())}";
        }

        if (Selected is not null && listed.ContainsKey(Selected))
        {
            return;
        }

        if (Selected is not null && (Input.Length > 0 || Mode != InputMode.Reply))
        {
            Status = Mode == InputMode.Reply && Input.Length > 0
                ? $"that session ended before your reply was sent; it was not sent: {Input}"
                : "that session ended; nothing was transferred";
            Input = "";
            Mode = InputMode.Reply;
        }

        Selected = null;
        Move(0);
    }

    /// <summary>
    /// Drops what is kept for conversations the view no longer lists: their histories (up to <see cref="HistoryKept"/>
    /// messages each), loaded marks and unread counts. Before, an agent serving hundreds of customers a shift kept them
    /// all. A customer back with a new session is pulled again when selected. The selected conversation is always listed
    /// here once <see cref="SelectAnotherIfGone"/> has moved off one that is not.
    /// </summary>
    private void ForgetUnlisted(Dictionary<string, string> listed)
    {
        foreach (var conversationId in Histories.Keys.Where(c => !listed.ContainsKey(c)).ToList())
        {
            Histories.Remove(conversationId);
        }

        Loaded.RemoveWhere(c => !listed.ContainsKey(c));
        foreach (var conversationId in Unread.Keys.Where(c => !listed.ContainsKey(c)).ToList())
        {
            Unread.Remove(conversationId);
        }
    }
}
