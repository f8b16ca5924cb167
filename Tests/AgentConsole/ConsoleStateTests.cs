using Orleans.Im.AgentConsole;
using Orleans.Im.Protocol.V1;

namespace Orleans.Im.Tests.AgentConsole;

/// <summary>The agent console's state: histories pulled once per conversation and merged with what was pushed.</summary>
[Trait("Category", "Unit")]
public sealed class ConsoleStateTests
{
    private const string First = "cs:shop:u1";
    private const string Second = "cs:shop:u2";

    [Fact]
    public void A_pushed_message_does_not_count_as_a_loaded_history()
    {
        var state = NewState();
        state.Add(Text(Second, 7, "a new message"));

        Assert.True(state.Histories.ContainsKey(Second));
        Assert.DoesNotContain(Second, state.Loaded);
    }

    [Fact]
    public void A_pulled_page_is_merged_with_what_was_pushed_while_it_was_in_flight()
    {
        var state = NewState();
        var generation = state.LoadGeneration;
        state.Add(Text(First, 4, "pushed meanwhile"));

        state.Merge(First, [Text(First, 1, "question"), Text(First, 2, "reply"), Text(First, 3, "more")], generation);

        Assert.Equal([1L, 2, 3, 4], state.Histories[First].Select(m => m.Seq));
        Assert.Contains(First, state.Loaded);
    }

    [Fact]
    public void A_change_replaces_the_message_by_seq_and_an_older_copy_does_not_undo_it()
    {
        var state = NewState();
        state.Merge(First, [Text(First, 1, "my card is 4111 1111 1111 1111"), Text(First, 2, "oops")], state.LoadGeneration);

        state.Add(new Message { ConversationId = First, Seq = 1, State = MessageState.Recalled, Revision = 1 });
        // A pull that started before the recall brings the old copy.
        state.Merge(First, [Text(First, 1, "my card is 4111 1111 1111 1111")], state.LoadGeneration);

        var recalled = state.Histories[First][0];
        Assert.Equal(MessageState.Recalled, recalled.State);
        Assert.Equal("(recalled)", ConsoleText.Describe(recalled));
        Assert.Equal(2, state.Histories[First].Count);
    }

    [Fact]
    public void After_an_unload_every_conversation_is_pulled_again_and_a_pull_from_before_it_does_not_count()
    {
        var state = NewState();
        state.Merge(First, [Text(First, 1, "q")], state.LoadGeneration);
        var before = state.LoadGeneration;

        state.Unload();
        state.Merge(Second, [Text(Second, 1, "q")], before);

        Assert.Empty(state.Loaded);
        Assert.Single(state.Histories[First]);
    }

    [Fact]
    public void Unsent_replies_come_back_each_in_its_own_conversation_only()
    {
        var state = TwoSessions();
        state.Unsent[First] = new UnsentReply(First, "s1", "it ships today", "id1");
        state.Unsent[Second] = new UnsentReply(Second, "s2", "your refund is on its way", "id2");
        state.RestoreUnsent();
        Assert.Equal("it ships today", state.Input);

        state.Move(1);
        Assert.Equal((Second, "your refund is on its way"), (state.Selected, state.Input));

        state.Move(1);
        Assert.Equal((First, "it ships today"), (state.Selected, state.Input));
    }

    [Fact]
    public void A_reply_being_typed_stays_with_its_conversation_when_the_agent_looks_at_another()
    {
        var state = TwoSessions();
        state.Input = "your refund for order 123 is approved";

        // Tab: the line is the other customer's now, empty; Enter there would send nothing of the first's.
        state.Move(1);
        Assert.Equal((Second, ""), (state.Selected, state.Input));
        state.Input = "hello";

        state.Move(1);
        Assert.Equal((First, "your refund for order 123 is approved"), (state.Selected, state.Input));
        state.Move(1);
        Assert.Equal((Second, "hello"), (state.Selected, state.Input));

        // A transfer's target typed for one session is not carried to another.
        state.Mode = InputMode.TransferTarget;
        state.Input = "agent7";
        state.Move(1);
        Assert.Equal((First, InputMode.Reply, "your refund for order 123 is approved"), (state.Selected, state.Mode, state.Input));
    }

    [Fact]
    public void An_unsent_reply_of_a_session_that_ended_is_not_offered_in_the_customers_next_session()
    {
        var state = TwoSessions();
        state.Unsent[First] = new UnsentReply(First, "s1", "about your last order", "id1");
        state.Move(1);

        // u1's session closes while the agent looks at u2 ...
        state.View = new CsAgentView { Sessions = { new CsSession { ConversationId = Second, UserId = "u2", SessionId = "s2" } } };
        state.SelectAnotherIfGone();
        Assert.Contains("about your last order", state.Status, StringComparison.Ordinal);

        // ... and u1 writes again later: a new session in the same conversation, which starts with an empty line.
        state.View = new CsAgentView
        {
            Sessions = { new CsSession { ConversationId = Second, UserId = "u2", SessionId = "s2" }, new CsSession { ConversationId = First, UserId = "u1", SessionId = "s3" } },
        };
        state.SelectAnotherIfGone();
        state.Move(1);
        Assert.Equal((First, ""), (state.Selected, state.Input));
        Assert.Empty(state.Unsent);
    }

    [Fact]
    public void A_reply_typed_for_a_session_that_ends_is_not_left_for_the_next_customer()
    {
        var state = NewState();
        state.View = new CsAgentView { Sessions = { new CsSession { ConversationId = First, UserId = "u1" }, new CsSession { ConversationId = Second, UserId = "u2" } } };
        state.Move(0);
        state.Input = "your address is 12 High Street";

        // u1's session ends (timed out) while the agent types: u2 is selected, and the line is not u2's to send.
        state.View = new CsAgentView { Sessions = { new CsSession { ConversationId = Second, UserId = "u2" } } };
        state.SelectAnotherIfGone();
        Assert.Equal((Second, ""), (state.Selected, state.Input));
        Assert.Contains("your address is 12 High Street", state.Status, StringComparison.Ordinal);

        // A transfer being typed goes the same way; a view that still has the selected session changes nothing.
        state.Mode = InputMode.TransferTarget;
        state.Input = "agent7";
        state.View = new CsAgentView { Sessions = { new CsSession { ConversationId = Second, UserId = "u2" }, new CsSession { ConversationId = First, UserId = "u1" } } };
        state.SelectAnotherIfGone();
        Assert.Equal((Second, InputMode.TransferTarget, "agent7"), (state.Selected, state.Mode, state.Input));
        state.View = new CsAgentView { Sessions = { new CsSession { ConversationId = First, UserId = "u1" } } };
        state.SelectAnotherIfGone();
        Assert.Equal((First, InputMode.Reply, ""), (state.Selected, state.Mode, state.Input));
    }

    [Fact]
    public void What_is_kept_for_conversations_the_view_no_longer_lists_is_dropped()
    {
        var state = TwoSessions();
        state.Merge(First, [Text(First, 1, "q")], state.LoadGeneration);
        state.Merge(Second, [Text(Second, 1, "q")], state.LoadGeneration);
        state.Unread[First] = 2;
        state.Unread[Second] = 1;

        // u2's session ended.
        state.View = new CsAgentView { Sessions = { new CsSession { ConversationId = First, UserId = "u1", SessionId = "s1" } } };
        state.SelectAnotherIfGone();

        Assert.Equal([First], state.Histories.Keys);
        Assert.Equal([First], state.Loaded);
        Assert.Equal([First], state.Unread.Keys);
    }

    [Fact]
    public void A_pushed_message_is_kept_only_for_a_listed_conversation()
    {
        var state = TwoSessions();

        Assert.True(state.AddPushed(Text(Second, 1, "hello")));
        Assert.False(state.AddPushed(Text("cs:shop:gone", 5, "are you there?")));

        Assert.Equal([Second], state.Histories.Keys);
    }

    private static ConsoleState NewState() => new("agent", "shop");

    /// <summary>Two sessions listed (u1's selected).</summary>
    private static ConsoleState TwoSessions()
    {
        var state = NewState();
        state.View = new CsAgentView
        {
            Sessions = { new CsSession { ConversationId = First, UserId = "u1", SessionId = "s1" }, new CsSession { ConversationId = Second, UserId = "u2", SessionId = "s2" } },
        };
        state.Move(0);
        return state;
    }

    private static Message Text(string conversationId, long seq, string text) =>
        new() { ConversationId = conversationId, Seq = seq, Content = new Content { Type = ContentType.Text, Text = text } };
}
