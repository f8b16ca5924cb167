using Orleans.Im.Messages;
using Orleans.Im.Push;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

// Telling members of a stored message. Write diffusion (p2p, small groups, customer service): every member's user grain,
// which keeps the member's conversation list current. Read diffusion (large groups, official accounts): only members
// online now, and straight to the edges holding their devices by the push routes their user grains gave, because a
// user-grain call per online member per message is what capped a busy large group; those members' lists catch up at
// sync, as offline members' do. The sender, the mentioned and members whose routes are not known still go through
// their user grains, which have more to do than push (read position, mention flag).
public sealed partial class ConversationGrain
{
    /// <summary>
    /// How long a read-diffusion conversation with online members stays active without calls: who is online (and
    /// where) lives only in this activation, so deactivating would leave later messages unpushed to them until they
    /// reconnect. Renewed by every change of an online member.
    /// </summary>
    private static readonly TimeSpan KeepAliveWhileMembersOnline = TimeSpan.FromHours(24);

    private readonly HashSet<string> _onlineMembers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, IEdgePushObserver?[]> _memberRoutes = new(StringComparer.Ordinal);

    public Task SetMemberOnlineAsync(string userId, bool online)
    {
        // Online by this call alone, routes unknown: told through the user grain (a member announced by an older silo).
        SetOnline(userId, online, routes: null);
        return Task.CompletedTask;
    }

    public Task SetMemberRoutesAsync(string userId, IEdgePushObserver?[] routes)
    {
        ArgumentNullException.ThrowIfNull(routes);
        SetOnline(userId, routes.Length > 0, routes.Length > 0 ? routes : null);
        return Task.CompletedTask;
    }

    private void SetOnline(string userId, bool online, IEdgePushObserver?[]? routes)
    {
        if (!IsMember(userId))
        {
            return;
        }

        if (!online)
        {
            ForgetOnline(userId);
            return;
        }

        _onlineMembers.Add(userId);
        if (routes is not null)
        {
            _memberRoutes[userId] = routes;
        }

        KeepAliveWhileOnline();
    }

    /// <summary>
    /// A member gone offline, or who left (removed from a group, unsubscribed), is no longer pushed to: neither counted
    /// online nor routed to by their edges' routes, which would otherwise be kept, and reused should they come back online
    /// without routes.
    /// </summary>
    private void ForgetOnline(string userId)
    {
        _onlineMembers.Remove(userId);
        _memberRoutes.Remove(userId);
        KeepAliveWhileOnline();
    }

    /// <summary>
    /// Large groups and official accounts: an online member keeps the conversation active (see
    /// <see cref="KeepAliveWhileMembersOnline"/>); once nobody is online it may be collected as usual.
    /// </summary>
    private void KeepAliveWhileOnline()
    {
        if (!IsReadDiffusion)
        {
            return;
        }

        DelayDeactivation(_onlineMembers.Count > 0 ? KeepAliveWhileMembersOnline : TimeSpan.FromTicks(-1));
    }

    /// <summary>
    /// Who is told of a message at once: everybody, except in large groups and official accounts, where only online
    /// members are (and the sender, whose other devices show what they sent); the rest catch up at sync.
    /// </summary>
    private IEnumerable<string> ImmediateRecipients(string? senderId) =>
        IsReadDiffusion
            ? _onlineMembers.Where(IsMember).Concat(senderId is not null && !_onlineMembers.Contains(senderId) ? [senderId] : [])
            : Members();

    /// <summary>One-way: the ack does not wait for members, and a member that misses a message catches up from the log.</summary>
    private void FanOut(ChatMessage message) =>
        FanOut(message, Recipients(message), static view => new MessageEvent(view), static (user, view) => user.OnMessageAsync(view));

    /// <summary>
    /// A notification superseded by a newer one with its collapse key: devices stop showing it, and it no longer counts as
    /// unread. Told as its sender's change, the same way as messages, to those told of them at once: not to offline members
    /// it mentioned (everybody, for @all, in a large group), whose entries learn of it at sync.
    /// </summary>
    private void FanOutCollapsed(ChatMessage collapsed) =>
        FanOut(collapsed, ImmediateRecipients(collapsed.SenderId), view => new MessageChangedEvent(view, collapsed.SenderId),
            (user, view) => user.OnMessageChangedAsync(view, collapsed.SenderId));

    private void FanOut(ChatMessage message, IEnumerable<string> recipients, Func<ChatMessage, UserEvent> eventOf,
        Func<IUserGrain, ChatMessage, Task> tellUser)
    {
        var readDiffusion = IsReadDiffusion;
        UserEvent[]? shared = null;
        ChatMessage? sharedView = null;
        // Made once: an operator's broadcast is seen without the operator by every subscriber, and one view for all of
        // them lets them share one event array (a copy each would be serialized once per subscriber).
        ChatMessage? withoutActingSender = null;
        foreach (var member in recipients)
        {
            if (!InHistoryOf(member, message.Seq))
            {
                // A message told again (after a restart, or as superseded) that was said before the member's history starts.
                continue;
            }

            var view = HidesActingSenderFrom(member, message) ? withoutActingSender ??= WithoutActingSender(message) : message;
            if (readDiffusion && PushRoutesFor(member, message) is { } routes)
            {
                // One event array for every member who sees the message alike: serialized once per edge call.
                if (shared is null || !ReferenceEquals(view, sharedView))
                {
                    shared = [eventOf(view)];
                    sharedView = view;
                }

                publisher.PublishAsync(new UserEventBatch(member, shared), routes).Ignore();
            }
            else
            {
                tellUser(GrainFactory.For<IUserGrain>(member), view).Ignore();
            }
        }
    }

    /// <summary>
    /// Read diffusion: the routes to push <paramref name="message"/> to <paramref name="member"/> by, or null to tell
    /// their user grain.
    /// </summary>
    private IEdgePushObserver?[]? PushRoutesFor(string member, ChatMessage message) =>
        member != message.SenderId
        && member != message.ActingSenderId
        && !MentionList.Includes(message.Mentions, member)
        && _memberRoutes.TryGetValue(member, out var routes)
            ? routes
            : null;
}
