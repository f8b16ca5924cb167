using System.Text.Json;
using Microsoft.AspNetCore.SignalR.Client;

namespace Orleans.Im.Bench.Load;

/// <summary>A user on the SignalR chat hub (JSON protocol, WebSockets), as the web client connects.</summary>
public sealed class HubBenchUser : IBenchUser
{
    private readonly HubConnection _connection;

    private HubBenchUser(string userId, HubConnection connection)
    {
        UserId = userId;
        _connection = connection;
    }

    public string UserId { get; }

    public static async Task<HubBenchUser> ConnectAsync(string userId, string httpBaseUrl, BenchTokens tokens, DeliverySink sink)
    {
        var connection = new HubConnectionBuilder()
            .WithUrl($"{httpBaseUrl.TrimEnd('/')}/hubs/chat?deviceId=bench", options =>
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(tokens.Issue(userId));
                options.SkipNegotiation = true;
                options.Transports = Microsoft.AspNetCore.Http.Connections.HttpTransportType.WebSockets;
            })
            .Build();
        connection.ServerTimeout = TimeSpan.FromSeconds(120);
        connection.On<JsonElement>("Events", events => OnEvents(userId, events, sink));
        await connection.StartAsync();
        return new HubBenchUser(userId, connection);
    }

    public async Task<bool> SendTextAsync(string conversationId, string clientMsgId, string text)
    {
        var result = await _connection.InvokeAsync<JsonElement>("Send", conversationId,
            new { clientMsgId, content = new { type = "text", text } });
        return result.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Null;
    }

    public async Task<bool> JoinRoomAsync(string roomId)
    {
        var result = await _connection.InvokeAsync<JsonElement>("JoinRoom", roomId);
        return result.TryGetProperty("error", out var error) && error.ValueKind == JsonValueKind.Null;
    }

    private static void OnEvents(string userId, JsonElement events, DeliverySink sink)
    {
        foreach (var item in events.EnumerateArray())
        {
            if (item.TryGetProperty("type", out var type) && type.GetString() == "message"
                && item.TryGetProperty("message", out var message) && message.ValueKind == JsonValueKind.Object)
            {
                sink.OnMessage(userId, message.GetProperty("senderId").GetString() ?? "", message.GetProperty("clientMsgId").GetString() ?? "");
            }
        }
    }

    public ValueTask DisposeAsync() => _connection.DisposeAsync();
}
