using Orleans.Im.Accounts;
using Orleans.Im.CustomerService;
using Orleans.Im.Messages;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.CustomerService;

/// <summary>A fresh shop with agent accounts, and short ways to drive its queue the way edges and apps do.</summary>
internal sealed class Shop(IClusterClient client, string shopId, string[] agents) : IAsyncDisposable
{
    private readonly Dictionary<string, DeviceProbe> _devices = new(StringComparer.Ordinal);

    public string Id { get; } = shopId;

    public string[] Agents { get; } = agents;

    public ICustomerServiceQueueGrain Queue => client.GetGrain<ICustomerServiceQueueGrain>(Id);

    public IReadOnlyDictionary<string, DeviceProbe> Devices => _devices;

    /// <summary>Creates the shop account and <paramref name="agentCount"/> agent accounts named after the shop.</summary>
    public static async Task<Shop> CreateAsync(IClusterClient client, int agentCount, CustomerServiceSettings? settings = null)
    {
        var shopId = Ids.User("shop");
        var agents = Enumerable.Range(1, agentCount).Select(i => Ids.User($"agent{i}")).ToArray();
        foreach (var (agent, i) in agents.Select((a, i) => (a, i)))
        {
            Assert.Equal(AccessStatus.Ok, await client.GetGrain<IAccountGrain>(agent).CreateAsync(new NewAccount($"Agent {i + 1}", null, [AccountRole.Agent])));
        }

        var account = client.GetGrain<IAccountGrain>(shopId);
        Assert.Equal(AccessStatus.Ok, await account.CreateAsync(new NewAccount("Test Shop", null, [AccountRole.Shop])));
        Assert.Equal(AccessStatus.Ok, await account.SetAgentsAsync(agents));
        var shop = new Shop(client, shopId, agents);
        if (settings is not null)
        {
            Assert.Equal(AccessStatus.Ok, await shop.Queue.SetSettingsAsync(settings));
        }

        return shop;
    }

    public string Conversation(string userId) => GrainKeys.CustomerService(Id, userId);

    /// <summary>The agent connects a device (presence online) and goes available.</summary>
    public async Task OnlineAsync(string agentId)
    {
        if (!_devices.ContainsKey(agentId))
        {
            _devices[agentId] = await DeviceProbe.ConnectAsync(client, agentId, "console");
        }

        Assert.Equal(AccessStatus.Ok, await Queue.SetAgentAvailableAsync(agentId, true));
    }

    /// <summary>The agent's last device leaves (presence goes offline after the grace).</summary>
    public async Task DisconnectAsync(string agentId)
    {
        if (_devices.Remove(agentId, out var device))
        {
            await device.DisposeAsync();
        }
    }

    public Task<SendResult> UserSaysAsync(string userId, string text) => client.SendTextAsync(Conversation(userId), userId, text);

    public Task<SendResult> AgentSaysAsync(string agentId, string userId, string text) => client.SendTextAsync(Conversation(userId), agentId, text);

    /// <summary>Waits until the queue's snapshot satisfies <paramref name="expected"/> (its inputs arrive one-way).</summary>
    public async Task<QueueSnapshot> SnapshotWhenAsync(Func<QueueSnapshot, bool> expected, TimeSpan? patience = null)
    {
        var snapshot = await Eventually.ReturnsAsync(() => Queue.GetSnapshotAsync(), expected, patience);
        Assert.True(expected(snapshot), $"queue of {Id} not as expected: waiting [{string.Join(", ", snapshot.Waiting)}], sessions "
            + string.Join("; ", snapshot.Sessions.Select(s => $"{s.UserId}->{s.AgentId ?? "queued"}")));
        return snapshot;
    }

    public static string? AgentOf(QueueSnapshot snapshot, string userId) => snapshot.Sessions.Single(s => s.UserId == userId).AgentId;

    /// <summary>The notices of one kind the user has in their conversation, oldest first.</summary>
    public async Task<IReadOnlyList<ChatMessage>> NoticesAsync(string userId, string kind) =>
        (await client.PullAllAsync(Conversation(userId), userId)).Where(m => m.Content?.CustomType == kind).ToList();

    public async ValueTask DisposeAsync()
    {
        foreach (var device in _devices.Values)
        {
            await device.DisposeAsync();
        }

        _devices.Clear();
    }
}
