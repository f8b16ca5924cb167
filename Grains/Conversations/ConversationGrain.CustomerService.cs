using Microsoft.Extensions.Logging;
using Orleans.Im.Accounts;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Storage;
using Orleans.Im.Users;

namespace Orleans.Im.Conversations;

// Customer service (cs:{shop}:{user}): the user, the shop, and the one agent the shop's queue grain assigned, who
// writes as the shop. The user never sees which agent wrote: replies carry the shop as sender, the agent only in
// ActingSenderId, which ViewFor strips from everything that goes to the user.
public sealed partial class ConversationGrain
{
    /// <summary>
    /// Idempotent, so that the queue may simply retry after <c>Unavailable</c>: the agent id is saved first (access
    /// follows it at once), then the former agents' list entries are removed (remembered in state until they are) and
    /// the agent's entry is ensured, even when the agent was already the one saved.
    /// </summary>
    public async Task<AccessStatus> SetCustomerServiceAgentAsync(string? agentId, string? agentName, long agentReadSeq)
    {
        if (_address?.Kind != ConversationKind.CustomerService || (agentId is not null && !GrainKeys.IsValidUserId(agentId)))
        {
            return AccessStatus.NoAccess;
        }

        var s = state.State;
        if (s.CustomerServiceAgentId is { } previous && previous != agentId && !s.CustomerServiceFormerAgents.Contains(previous))
        {
            s.CustomerServiceFormerAgents.Add(previous);
        }

        if (agentId is not null)
        {
            // An agent who gets the conversation back keeps their entry.
            s.CustomerServiceFormerAgents.Remove(agentId);
        }

        s.CustomerServiceAgentId = agentId;
        s.CustomerServiceAgentName = agentId is null ? null : agentName;
        if (!await TrySaveCustomerServiceAsync())
        {
            return AccessStatus.Unavailable;
        }

        try
        {
            var removed = false;
            foreach (var former in s.CustomerServiceFormerAgents.ToList())
            {
                // The former agent loses the conversation from their list (access went with the agent id above).
                if (await GrainFactory.For<IUserGrain>(former).RemoveConversationAsync(ConversationId))
                {
                    s.CustomerServiceFormerAgents.Remove(former);
                    removed = true;
                }
            }

            if (removed && !await TrySaveCustomerServiceAsync())
            {
                // The removals are done; a retry repeats them harmlessly.
                return AccessStatus.Unavailable;
            }

            if (agentId is not null)
            {
                // The entry starts at the log's head, so the agent's list shows the last message and what is unread.
                var last = _recent.Last is { } head ? ViewFor(agentId, head) : null;
                var agentGrain = GrainFactory.For<IUserGrain>(agentId);
                if (!await agentGrain.AddConversationAtHeadAsync(ConversationId, last, agentReadSeq))
                {
                    return AccessStatus.Unavailable;
                }

                // The entry counts everything after the read position given; what is no longer there to read (the queue's
                // position notices superseded while the user waited, a recall) is told as the change it was, so it
                // counts out.
                foreach (var gone in _recent.Where(m => m.Seq > agentReadSeq && !UnreadCounting.Counts(m)))
                {
                    agentGrain.OnMessageChangedAsync(ViewFor(agentId, gone), gone.SenderId).Ignore();
                }
            }
        }
        catch (Exception ex) when (ex is TimeoutException or OrleansException)
        {
            // An agent's user grain did not answer: the queue retries the whole hand-over.
            LogCustomerServiceAgentUnreachable(logger, ConversationId, ex.Message);
            return AccessStatus.Unavailable;
        }

        return s.CustomerServiceFormerAgents.Count == 0 ? AccessStatus.Ok : AccessStatus.Unavailable;
    }

    private async Task<bool> TrySaveCustomerServiceAsync()
    {
        try
        {
            await state.WriteStateAsync();
            return true;
        }
        catch (Exception ex) when (StorageFailures.IsTransient(ex))
        {
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            DeactivateOnIdle();
            return false;
        }
    }

    [LoggerMessage(20, LogLevel.Warning, "Conversation {ConversationId}: an agent's user grain did not answer the hand-over: {Reason}")]
    private static partial void LogCustomerServiceAgentUnreachable(ILogger logger, string conversationId, string reason);

    /// <summary>The agent a customer-service message is written by, when the sender is the assigned agent.</summary>
    private ActingAgent? ActingAgentFor(string senderId) =>
        _address?.Kind == ConversationKind.CustomerService && senderId == state.State.CustomerServiceAgentId
            ? new ActingAgent(senderId, state.State.CustomerServiceAgentName)
            : null;

    /// <summary>The user, the shop (which notices come from) and the assigned agent.</summary>
    private bool IsCustomerServiceMember(string userId) =>
        userId == _address!.Second || userId == _address.First || userId == state.State.CustomerServiceAgentId;

    /// <summary>Who is told of a message: the user and the assigned agent (the shop itself has no devices to tell).</summary>
    private string[] CustomerServiceRecipients() =>
        state.State.CustomerServiceAgentId is { } agent ? new[] { _address!.Second!, agent } : new[] { _address!.Second! };

    /// <summary>
    /// A message as <paramref name="recipient"/> may see it: the user never sees the acting agent's ids, and an official
    /// account's subscribers never see which operator broadcast.
    /// </summary>
    private ChatMessage ViewFor(string recipient, ChatMessage message) =>
        HidesActingSenderFrom(recipient, message) ? WithoutActingSender(message) : message;

    /// <summary>Whether <paramref name="recipient"/> must not see who wrote <paramref name="message"/> in the name it bears.</summary>
    private bool HidesActingSenderFrom(string recipient, ChatMessage message) =>
        message.ActingSenderId is not null
        && ((_address?.Kind == ConversationKind.CustomerService && recipient == _address.Second)
            || (_address?.Kind == ConversationKind.PublicAccount && !IsBroadcaster(recipient)));

    private static ChatMessage WithoutActingSender(ChatMessage message) => message with { ActingSenderId = null, SenderDeviceId = null };

    /// <summary>How often the queue is told again of a user's message it has not confirmed.</summary>
    private static readonly TimeSpan CustomerServiceTellInterval = TimeSpan.FromSeconds(5);

    /// <summary>The user's newest message the shop's queue has not confirmed (0: none); told again until it does.</summary>
    private long _customerServiceUntold;

    private IGrainTimer? _customerServiceTellTimer;

    /// <summary>Tells repeated since the last confirmation; one in <see cref="RetellsPerLog"/> is logged.</summary>
    private int _customerServiceRetells;

    private const int RetellsPerLog = 60;

    /// <summary>After a durable append: the shop's queue learns of the user's message, or of the agent's answer (one-way).</summary>
    private void OnCustomerServiceAppended(string senderId, ActingAgent? acting, long seq)
    {
        if (_address?.Kind != ConversationKind.CustomerService)
        {
            return;
        }

        if (acting is not null)
        {
            GrainFactory.For<ICustomerServiceQueueGrain>(_address.First).OnAgentMessageAsync(_address.Second!, acting.AgentId, seq).Ignore();
        }
        else if (senderId == _address.Second)
        {
            TellQueueOfUserMessage(seq);
        }
    }

    /// <summary>
    /// The user's message opens the shop's session or keeps it going: without the tell, nobody is assigned and no
    /// auto-reply comes until the user writes again. One-way (the queue calls this grain, awaited, and the two must not
    /// wait on each other), so it is repeated until the queue confirms (<see cref="OnCustomerServiceToldAsync"/>): a
    /// one-way call is lost with the queue's silo, or with a failed write of the queue's state.
    /// </summary>
    private void TellQueueOfUserMessage(long seq)
    {
        _customerServiceUntold = Math.Max(_customerServiceUntold, seq);
        GrainFactory.For<ICustomerServiceQueueGrain>(_address!.First).OnUserMessageAsync(_address.Second!, seq).Ignore();
        _customerServiceTellTimer ??= this.RegisterGrainTimer(TellQueueAgainAsync,
            new GrainTimerCreationOptions(CustomerServiceTellInterval, CustomerServiceTellInterval) { Interleave = false, KeepAlive = true });
    }

    private Task TellQueueAgainAsync(CancellationToken cancellationToken)
    {
        if (_customerServiceUntold == 0)
        {
            StopTellingQueue();
            return Task.CompletedTask;
        }

        if (_customerServiceRetells++ % RetellsPerLog == 0)
        {
            // The first time, then every few minutes: a queue whose database is down for long is told every 5 s.
            LogCustomerServiceToldAgain(logger, ConversationId, _customerServiceUntold);
        }

        GrainFactory.For<ICustomerServiceQueueGrain>(_address!.First).OnUserMessageAsync(_address.Second!, _customerServiceUntold).Ignore();
        return Task.CompletedTask;
    }

    public Task OnCustomerServiceToldAsync(long seq)
    {
        if (_customerServiceUntold != 0 && seq >= _customerServiceUntold)
        {
            _customerServiceUntold = 0;
            _customerServiceRetells = 0;
            StopTellingQueue();
        }

        return Task.CompletedTask;
    }

    private void StopTellingQueue()
    {
        _customerServiceTellTimer?.Dispose();
        _customerServiceTellTimer = null;
    }

    /// <summary>
    /// After an activation: the user's newest message, when it came in the last moments, may never have reached the queue
    /// (the previous activation's silo died before the tell, or before it was confirmed). Told again; the queue ignores a
    /// message it already counts.
    /// </summary>
    private void TellQueueOfRecentUserMessage()
    {
        var since = clock.UtcNow - AnnounceOnActivationWindow;
        if (_recent.Last is { } newest && newest.SenderId == _address!.Second && newest.ActingSenderId is null && newest.ServerTime >= since)
        {
            TellQueueOfUserMessage(newest.Seq);
        }
    }

    [LoggerMessage(22, LogLevel.Information, "Conversation {ConversationId}: the shop's queue has not confirmed the user's message {Seq}; telling it again")]
    private static partial void LogCustomerServiceToldAgain(ILogger logger, string conversationId, long seq);

    /// <summary>
    /// Whether <paramref name="shopId"/> is an enabled shop account: asked before a customer-service conversation's first
    /// message, once per activation while none is stored. Null when the account could not be asked now.
    /// </summary>
    private async Task<bool?> IsShopAsync(string shopId)
    {
        if (_isShop is { } known)
        {
            return known;
        }

        try
        {
            var credentials = await GrainFactory.For<IAccountGrain>(shopId).GetCredentialsAsync();
            _isShop = credentials is { Disabled: false } && credentials.Roles.Contains(AccountRole.Shop);
            return _isShop;
        }
        catch (Exception ex) when (ex is not OperationCanceledException and not OutOfMemoryException)
        {
            // Whatever went wrong (a timeout, an account grain whose activation failed on storage): asked again later.
            LogStorageUnavailable(logger, ConversationId, ex.Message);
            return null;
        }
    }

    /// <summary>Before the first message: the user's entry exists durably (the shop's agents get theirs when assigned).</summary>
    private async Task InitializeCustomerServiceAsync()
    {
        if (!await GrainFactory.For<IUserGrain>(_address!.Second!).AddConversationAsync(ConversationId, readDiffusion: false))
        {
            throw new StorageUnavailableException("the user's conversation entry could not be saved");
        }

        state.State.Initialized = true;
        state.State.CreatedAt = clock.UtcNow;
        await state.WriteStateAsync();
    }
}
