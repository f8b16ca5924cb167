using Microsoft.AspNetCore.SignalR.Client;
using Npgsql;
using Orleans.Im.Client;
using Orleans.Im.EdgeHost.Hubs;
using Orleans.Im.Protocol.V1;
using Orleans.Im.Rooms;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Edge;

/// <summary>
/// Chat rooms over the real TCP edge: a room of 10,000 members, 2,000 of them connected. A cluster of its own, with
/// production connection timeouts, because 2,000 clients on a shared test machine must not trip the short ones the
/// other edge tests use.
/// </summary>
[Trait("Category", "Edge")]
public sealed class RoomTests : IAsyncLifetime, IAsyncDisposable
{
    private const int Members = 10_000;
    private const int Connected = 2_000;
    private const int ConnectConcurrency = 40;
    private static readonly TimeSpan PresenceGrace = TimeSpan.FromSeconds(2);
    private static readonly Dictionary<string, string> EdgeSettings = new()
    {
        ["IM__Edge__UserSendRatePerSecond"] = "100000",
        ["IM__Edge__UserSendBurst"] = "100000",
    };

    private readonly SiloCluster _cluster = new("rooms");
    private readonly List<ImClient> _clients = [];
    private RunningEdge _edge = null!;
    private IClusterClient _orleans = null!;
    private Orleans.Im.EdgeHost.Auth.AccessTokens _tokens = null!;
    private int _disposed;

    public async Task InitializeAsync()
    {
        await _cluster.StartSiloAsync(settings: new Dictionary<string, string>
        {
            ["IM__Users__PresenceGrace"] = PresenceGrace.ToString(),
        });
        _edge = await _cluster.StartEdgeAsync(EdgeSettings);
        _orleans = await _cluster.ConnectClientAsync();
        _tokens = new(Microsoft.Extensions.Options.Options.Create(new Orleans.Im.EdgeHost.Auth.AuthOptions { SigningKey = _cluster.SigningKey }), TimeProvider.System);
    }

    async Task IAsyncLifetime.DisposeAsync() => await DisposeAsync();

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }

        await Task.WhenAll(_clients.Select(c => c.DisposeAsync().AsTask()));
        await _cluster.DisposeAsync();
    }

    [Fact]
    public async Task A_message_in_a_room_of_10000_reaches_each_of_the_2000_connected_members_once_and_is_never_stored()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = _orleans.GetGrain<IRoomGrain>(roomId);
        var run = Guid.NewGuid().ToString("N")[..8];

        // 8,000 members who are not connected here (joined elsewhere, or through the API).
        foreach (var chunk in Enumerable.Range(0, Members - Connected).Chunk(500))
        {
            var joined = await Task.WhenAll(chunk.Select(i => room.JoinAsync($"away-{run}-{i}", null)));
            Assert.All(joined, j => Assert.Equal(Messages.AccessStatus.Ok, j.Status));
        }

        // 2,000 connected over TCP, each joining through the edge.
        var connected = await ConnectAllAsync(Enumerable.Range(0, Connected).Select(i => $"here-{run}-{i}"));
        var joins = new List<RoomJoinResponse>();
        foreach (var chunk in connected.Chunk(ConnectConcurrency * 5))
        {
            joins.AddRange(await Task.WhenAll(chunk.Select(c => c.JoinRoomAsync(roomId))));
        }

        Assert.Equal(Members, (await room.GetInfoAsync()).MemberCount);
        Assert.Equal(Members, (int)joins.Max(j => j.MemberCount));

        var sender = connected[0];
        var ack = await sender.SendTextAsync(roomId, "hello, room");
        Assert.Equal(SendStatus.Sent, ack.Status);

        // Every connected member gets it once (the sender's SDK shows its own copy, made from the ack; the edge does
        // not echo it to the sending device).
        var received = await Task.WhenAll(connected.Select(c => c.TakeAsync(1, TimeSpan.FromSeconds(120))));
        Assert.All(received, r => Assert.Equal((roomId, "hello, room", ack.Seq), (r[0].ConversationId, r[0].Content.Text, r[0].Seq)));
        await Task.Delay(TimeSpan.FromSeconds(1));
        Assert.All(connected, c => Assert.False(c.Messages.TryRead(out var extra), $"a second room message: {extra}"));

        // Not stored: no log rows, no conversation entries.
        var database = await TestServices.GetMigratedDataSourceAsync();
        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM messages WHERE conversation_id = $1", roomId));
        Assert.Equal(0L, await CountAsync(database, "SELECT count(*) FROM user_conversations WHERE conversation_id = $1", roomId));

        // A late joiner sees the last messages.
        await using var late = await ConnectAsync($"late-{run}");
        var lateJoin = await late.JoinRoomAsync(roomId);
        Assert.Equal(["hello, room"], lateJoin.Recent.Select(m => m.Content.Text));
        Assert.Equal(Members + 1, (int)lateJoin.MemberCount);
    }

    [Fact]
    public async Task A_member_who_goes_offline_leaves_the_room_after_the_presence_grace_and_one_who_reconnects_in_time_stays()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = _orleans.GetGrain<IRoomGrain>(roomId);
        var stayer = await JoinedAsync(roomId, Ids.User("stayer"));
        var leaver = await JoinedAsync(roomId, Ids.User("leaver"));
        Assert.Equal(2, (await room.GetInfoAsync()).MemberCount);

        await leaver.DisposeAsync();
        var info = await Eventually.ReturnsAsync(room.GetInfoAsync, i => i.MemberCount == 1, PresenceGrace * 5);
        Assert.Equal(1, info.MemberCount);

        // Messages still reach the one who stayed; a non-member cannot send.
        var outsider = await ConnectAsync(Ids.User("outsider"));
        var refused = await outsider.SendTextAsync(roomId, "let me in");
        Assert.Equal(SendStatus.Refused, refused.Status);
        var third = await JoinedAsync(roomId, Ids.User("third"));
        Assert.Equal(SendStatus.Sent, (await third.SendTextAsync(roomId, "still here?")).Status);
        Assert.Equal("still here?", (await stayer.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
    }

    [Fact]
    public async Task A_device_back_from_a_drop_is_shown_what_the_room_said_meanwhile_once_and_nothing_it_had_shown()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var talker = await JoinedAsync(roomId, Ids.User("talker"));
        await using var proxy = new LoopbackProxy(_edge.Endpoints.TcpPort);
        var listener = await ConnectAsync(Ids.User("listener"), "phone", port: proxy.Port);
        var joined = await listener.JoinRoomAsync(roomId);
        Assert.Empty(joined.Recent);
        Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, "before")).Status);
        Assert.Equal("before", Assert.Single(await listener.TakeAsync(1)).Content.Text);

        // The listener's network goes; the room goes on without it (the edge pushes it nothing meanwhile).
        proxy.GoDown();
        await Eventually.UntilAsync(() => Task.FromResult(listener.Status), s => s != ImClientStatus.Connected);
        Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, "while you were away")).Status);
        Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, "and this too")).Status);

        // Back: the client joins again by itself and shows what the room's history holds that it did not show, once.
        proxy.ComeBack();
        var missed = await listener.TakeAsync(2, TimeSpan.FromSeconds(30));
        Assert.Equal(["while you were away", "and this too"], missed.Select(m => m.Content.Text));
        await listener.AssertNoMoreAsync(TimeSpan.FromMilliseconds(500));
        Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, "welcome back")).Status);
        Assert.Equal("welcome back", Assert.Single(await listener.TakeAsync(1, TimeSpan.FromSeconds(30))).Content.Text);
    }

    [Fact]
    public async Task A_device_is_in_at_most_its_edges_number_of_rooms_and_a_leave_makes_room_for_another()
    {
        await using var edge = await _cluster.StartEdgeAsync(new Dictionary<string, string>(EdgeSettings) { ["IM__Edge__MaxRoomsPerDevice"] = "2" });
        var device = await ConnectAsync(Ids.User("collector"), "phone", edge);
        var rooms = Enumerable.Range(0, 3).Select(_ => GrainKeys.Room(Guid.NewGuid().ToString("N"))).ToArray();
        await device.JoinRoomAsync(rooms[0]);
        await device.JoinRoomAsync(rooms[1]);

        var refused = await Assert.ThrowsAsync<ImClientException>(() => device.JoinRoomAsync(rooms[2]));
        Assert.Equal(Orleans.Im.Protocol.V1.ErrorCode.NotAllowed, refused.Error?.Code);
        Assert.Equal(0, (await _orleans.GetGrain<IRoomGrain>(rooms[2]).GetInfoAsync()).MemberCount);

        // Joining one it is in again is no new room; leaving one lets another in.
        await device.JoinRoomAsync(rooms[1]);
        await device.LeaveRoomAsync(rooms[0]);
        Assert.Equal(1u, (await device.JoinRoomAsync(rooms[2])).MemberCount);
    }

    [Fact]
    public async Task A_closed_device_stops_getting_the_room_alone_and_leaving_from_one_device_stops_all_of_the_users()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = _orleans.GetGrain<IRoomGrain>(roomId);
        var talker = await JoinedAsync(roomId, Ids.User("talker"));
        var witness = await JoinedAsync(roomId, Ids.User("witness"));
        var user = Ids.User("both");
        var phone = await JoinedAsync(roomId, user, "phone");
        var desktop = await JoinedAsync(roomId, user, "desktop");
        Assert.Equal(3, (await room.GetInfoAsync()).MemberCount);

        await SayAsync("one");
        Assert.Equal("one", (await phone.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
        Assert.Equal("one", (await desktop.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);

        // One connection closes: that device gets nothing more; the user, online on the phone, stays in the room.
        await desktop.DisposeAsync();
        await SayAsync("two");
        Assert.Equal("two", (await phone.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
        Assert.Equal(3, (await room.GetInfoAsync()).MemberCount);
        var desktopAgain = await JoinedAsync(roomId, user, "desktop");

        // Leaving from the phone takes the user out, with both devices.
        await phone.LeaveRoomAsync(roomId);
        Assert.Equal(2, (await room.GetInfoAsync()).MemberCount);
        await SayAsync("three");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(phone.Messages.TryRead(out var onPhone), $"the phone got {onPhone}");
        Assert.False(desktopAgain.Messages.TryRead(out var onDesktop), $"the desktop got {onDesktop}");

        // Each message reached the witness, so those above had been pushed to this edge's devices when they were checked.
        async Task SayAsync(string text)
        {
            Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, text)).Status);
            Assert.Equal(text, (await witness.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
        }
    }

    [Fact]
    public async Task Leaving_on_one_edge_host_takes_the_users_devices_on_another_out_and_tells_them_but_a_join_after_it_stands()
    {
        await using var second = await _cluster.StartEdgeAsync(EdgeSettings);
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var talker = await JoinedAsync(roomId, Ids.User("talker"));
        // On the second edge: each message it gets shows that the second edge has had everything the room sent before.
        var witness = await JoinedAsync(roomId, Ids.User("witness"), "phone", second);
        var user = Ids.User("roamer");
        var phone = await JoinedAsync(roomId, user, "phone");
        var laptop = await JoinedAsync(roomId, user, "laptop", second);
        await using var tab = await HubClient.ConnectAsync(second.Endpoints.HttpPort, _tokens.Issue(user, "session-" + user), messagePack: false);
        var tabJoin = await tab.Connection.InvokeAsync<HubResult>("JoinRoom", roomId);
        var membership = (await laptop.JoinRoomAsync(roomId)).Membership;
        Assert.Equal(membership, tabJoin.Membership);
        await SayAsync("one");
        Assert.Equal("one", (await phone.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
        Assert.Equal("one", (await laptop.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
        await tab.WaitForAsync(e => e is { Type: "message", Message.Content.Text: "one" }, TimeSpan.FromSeconds(30));

        // The phone leaves through the first edge: the laptop and the web tab, on the second, are told and get nothing
        // more; the laptop's SDK forgets the room, so that a reconnect does not join it again.
        await phone.LeaveRoomAsync(roomId);
        await RoomRemovedAsync(laptop, roomId, membership);
        Assert.DoesNotContain(roomId, laptop.Rooms);
        var tabTold = await tab.WaitForAsync(e => e.Type == "conversation" && e.ConversationId == roomId, TimeSpan.FromSeconds(30));
        Assert.Equal((true, membership), (tabTold.Conversation!.Removed, tabTold.Conversation.Version));
        // A tab that rejoins as that membership (after a reconnect of its own) is refused.
        Assert.Equal("not_found", (await tab.Connection.InvokeAsync<HubResult>("RejoinRoom", roomId, membership)).Error);
        await SayAsync("two");
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(laptop.Messages.TryRead(out var onLaptop), $"the laptop got {onLaptop}");
        Assert.False(phone.Messages.TryRead(out var onPhone), $"the phone got {onPhone}");
        Assert.DoesNotContain(tab.Events, e => e is { Type: "message", Message.Content.Text: "two" });

        // The laptop joins again right after a leave from the phone: the join stands, whichever reaches the second edge
        // first, the room's notice of the leave or the answer to the join. Rounds, because the order is up to the machine.
        for (var round = 0; round < 10; round++)
        {
            var before = (await laptop.JoinRoomAsync(roomId)).Membership;
            Assert.True(before > membership, $"round {round}: membership {before} after {membership}");
            await phone.JoinRoomAsync(roomId);
            await phone.LeaveRoomAsync(roomId);
            membership = (await laptop.JoinRoomAsync(roomId)).Membership;
            Assert.True(membership > before, $"round {round}: membership {membership} after {before}");

            await SayAsync($"round {round}");
            Assert.Equal($"round {round}", (await laptop.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
            Assert.Contains(roomId, laptop.Rooms);

            // Leaving from the laptop itself tells it too.
            await laptop.LeaveRoomAsync(roomId);
            await RoomRemovedAsync(laptop, roomId, membership);
        }

        // Off the second edge before it stops, so that its drain has no one to move.
        await laptop.DisposeAsync();
        await witness.DisposeAsync();

        async Task SayAsync(string text)
        {
            Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, text)).Status);
            Assert.Equal(text, (await witness.TakeAsync(1, TimeSpan.FromSeconds(30)))[0].Content.Text);
        }
    }

    [Fact]
    public async Task A_device_that_was_away_when_its_user_left_does_not_bring_them_back_when_it_reconnects()
    {
        var roomId = GrainKeys.Room(Guid.NewGuid().ToString("N"));
        var room = _orleans.GetGrain<IRoomGrain>(roomId);
        var talker = await JoinedAsync(roomId, Ids.User("talker"));
        var user = Ids.User("away");
        var phone = await JoinedAsync(roomId, user, "phone");
        await using var proxy = new LoopbackProxy(_edge.Endpoints.TcpPort);
        var tablet = await ConnectAsync(user, "tablet", port: proxy.Port);
        var membership = (await tablet.JoinRoomAsync(roomId)).Membership;
        Assert.Equal(2, (await room.GetInfoAsync()).MemberCount);

        // The tablet loses its connection (the user stays online on the phone), and the user leaves from the phone.
        proxy.GoDown();
        await phone.LeaveRoomAsync(roomId);
        Assert.Equal(1, (await room.GetInfoAsync()).MemberCount);

        // The tablet reconnects and asks to join again as the membership it held: refused, so it drops the room and
        // says so on its events, and the user stays out.
        proxy.ComeBack();
        await RoomRemovedAsync(tablet, roomId, membership);
        Assert.DoesNotContain(roomId, tablet.Rooms);
        Assert.Equal(1, (await room.GetInfoAsync()).MemberCount);
        Assert.Equal(SendStatus.Sent, (await talker.SendTextAsync(roomId, "still out?")).Status);
        await Task.Delay(TimeSpan.FromMilliseconds(500));
        Assert.False(tablet.Messages.TryRead(out var onTablet), $"the tablet got {onTablet}");
    }

    /// <summary>Waits for the room's conversation entry, removed, that ends the membership, on the device's events.</summary>
    private static async Task RoomRemovedAsync(ImClient client, string roomId, long membership)
    {
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var removed = new List<long>();
        try
        {
            while (true)
            {
                var pushed = await client.Events.ReadAsync(timeout.Token);
                if (pushed.Conversation is { Removed: true } entry && entry.ConversationId == roomId)
                {
                    removed.Add(entry.Version);
                    if (entry.Version == membership)
                    {
                        return;
                    }
                }
            }
        }
        catch (OperationCanceledException)
        {
            Assert.Fail($"no removed entry for membership {membership}; removed: [{string.Join(", ", removed)}]");
        }
    }

    private async Task<List<ImClient>> ConnectAllAsync(IEnumerable<string> userIds)
    {
        var all = new List<ImClient>();
        foreach (var chunk in userIds.Chunk(ConnectConcurrency))
        {
            all.AddRange(await Task.WhenAll(chunk.Select(ConnectAsync)));
        }

        return all;
    }

    private Task<ImClient> ConnectAsync(string userId) => ConnectAsync(userId, "phone");

    /// <summary>A connected device that has joined the room.</summary>
    private async Task<ImClient> JoinedAsync(string roomId, string userId, string deviceId = "phone", RunningEdge? edge = null)
    {
        var client = await ConnectAsync(userId, deviceId, edge);
        await client.JoinRoomAsync(roomId);
        return client;
    }

    private async Task<ImClient> ConnectAsync(string userId, string deviceId, RunningEdge? edge = null, int? port = null)
    {
        var client = new ImClient(new ImClientOptions
        {
            Port = port ?? (edge ?? _edge).Endpoints.TcpPort,
            TokenProvider = _ => Task.FromResult(_tokens.Issue(userId, "session-" + userId)),
            DeviceId = deviceId,
            Platform = "test",
            RequestTimeout = TimeSpan.FromSeconds(60),
            ReconnectBaseDelay = TimeSpan.FromMilliseconds(200),
            MaxReconnectDelay = TimeSpan.FromSeconds(2),
        });
        lock (_clients)
        {
            _clients.Add(client);
        }

        await client.ConnectAsync();
        return client;
    }

    private static async Task<long> CountAsync(NpgsqlDataSource database, string sql, string parameter)
    {
        await using var command = database.CreateCommand(sql);
        command.Parameters.AddWithValue(parameter);
        return (long)(await command.ExecuteScalarAsync())!;
    }
}
