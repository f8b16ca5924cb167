using Orleans.Im.Client;

namespace Orleans.Im.Bench.Load;

/// <summary>A user on the mobile TCP protocol through the SDK (<see cref="ImClient"/>), draining its message channel into a sink.</summary>
public sealed class TcpBenchUser : IBenchUser
{
    private readonly ImClient _client;
    private readonly CancellationTokenSource _stop = new();
    private Task _receiving = Task.CompletedTask;

    private TcpBenchUser(string userId, ImClient client)
    {
        UserId = userId;
        _client = client;
    }

    public string UserId { get; }

    public ImClient Client => _client;

    public static async Task<TcpBenchUser> ConnectAsync(string userId, string host, int port, BenchTokens tokens, DeliverySink sink)
    {
        var client = new ImClient(new ImClientOptions
        {
            Host = host,
            Port = port,
            TokenProvider = _ => Task.FromResult(tokens.Issue(userId)),
            DeviceId = "bench",
            Platform = "bench",
            RequestTimeout = TimeSpan.FromSeconds(60),
        });
        await client.ConnectAsync();
        var user = new TcpBenchUser(userId, client);
        user._receiving = user.ReceiveAsync(sink);
        return user;
    }

    public async Task<bool> SendTextAsync(string conversationId, string clientMsgId, string text)
    {
        var ack = await _client.SendTextAsync(conversationId, text, clientMsgId);
        return StoredAck.IsStored(ack.Status);
    }

    public async Task<bool> JoinRoomAsync(string roomId) => (await _client.JoinRoomAsync(roomId)).Error is null;

    private async Task ReceiveAsync(DeliverySink sink)
    {
        try
        {
            await foreach (var message in _client.Messages.ReadAllAsync(_stop.Token))
            {
                sink.OnMessage(UserId, message.SenderId, message.ClientMsgId);
            }
        }
        catch (OperationCanceledException)
        {
            // Stopped.
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _stop.CancelAsync();
        await _receiving;
        await _client.DisposeAsync();
        _stop.Dispose();
    }
}
