using System.Collections.Concurrent;
using System.Text.Json;
using System.Text.Json.Serialization;
using Microsoft.AspNetCore.SignalR.Client;
using Microsoft.Extensions.DependencyInjection;
using Orleans.Im.EdgeHost.Hubs;

namespace Orleans.Im.Tests.Infrastructure;

/// <summary>A web chat client as the .NET SignalR client makes one, JSON or MessagePack, recording pushed events.</summary>
public sealed class HubClient : IAsyncDisposable
{
    private readonly ConcurrentQueue<HubEvent> _events = new();
    private readonly SemaphoreSlim _arrived = new(0);

    private HubClient(HubConnection connection)
    {
        Connection = connection;
        connection.On<IReadOnlyList<HubEvent>>(nameof(IChatClient.Events), events =>
        {
            foreach (var hubEvent in events)
            {
                _events.Enqueue(hubEvent);
                _arrived.Release();
            }
        });
    }

    public HubConnection Connection { get; }

    public IReadOnlyCollection<HubEvent> Events => _events;

    public static HubConnection Build(int httpPort, string? token, bool messagePack, string deviceId = "browser", string? origin = null)
    {
        var builder = new HubConnectionBuilder().WithUrl($"http://127.0.0.1:{httpPort}{ChatHub.Path}?deviceId={deviceId}", options =>
        {
            if (token is not null)
            {
                options.AccessTokenProvider = () => Task.FromResult<string?>(token);
            }

            if (origin is not null)
            {
                options.Headers["Origin"] = origin;
            }
        });
        if (messagePack)
        {
            builder.AddMessagePackProtocol(o => o.SerializerOptions = HubMessagePack.Options);
        }
        else
        {
            builder.AddJsonProtocol(o => o.PayloadSerializerOptions.Converters.Add(new JsonStringEnumConverter(JsonNamingPolicy.CamelCase)));
        }

        return builder.Build();
    }

    public static async Task<HubClient> ConnectAsync(int httpPort, string token, bool messagePack, string deviceId = "browser")
    {
        var client = new HubClient(Build(httpPort, token, messagePack, deviceId));
        await client.Connection.StartAsync();
        return client;
    }

    public async Task<HubEvent> WaitForAsync(Func<HubEvent, bool> match, TimeSpan? timeout = null)
    {
        var deadline = DateTime.UtcNow + (timeout ?? TimeSpan.FromSeconds(10));
        while (true)
        {
            if (_events.FirstOrDefault(match) is { } found)
            {
                return found;
            }

            var left = deadline - DateTime.UtcNow;
            if (left <= TimeSpan.Zero)
            {
                throw new TimeoutException($"no matching event; got: {string.Join(", ", _events.Select(e => $"{e.Type}:{e.ConversationId}#{e.Seq}"))}");
            }

            await _arrived.WaitAsync(left);
        }
    }

    public async ValueTask DisposeAsync()
    {
        await Connection.DisposeAsync();
        _arrived.Dispose();
    }
}
