using Orleans.Im.Firehose;
using Orleans.Im.Events;
using Orleans.Im.Silo.Events;
using Orleans.Im.Tests.Conversations;
using Orleans.Im.Tests.Infrastructure;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Events;

[Collection(ClusterGroup.Name)]
[Trait("Category", "Integration")]
public sealed class EventReplayTests(ClusterFixture fixture)
{
    /// <summary>Messages of the large-message replay: more than its buffer holds by size.</summary>
    private const int Large = 60;

    [Fact]
    public async Task The_replay_command_republishes_a_seq_range_from_postgres_with_the_original_event_ids()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        for (var i = 1; i <= 30; i++)
        {
            await fixture.Client.SendTextAsync(conversationId, i % 3 == 0 ? bob : alice, $"m{i}");
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);
        // The silo publishes after the commit, from a buffer that lingers a few ms: wait until the last send is in the
        // stream (a conversation's events are in seq order there), so that the group below sees only the replay.
        var lastId = $"m:{conversationId}:30";
        var newest = await Eventually.ReturnsAsync(
            () => redis.GetDatabase().StreamRangeAsync(FirehoseStreams.For(EventClass.Message), "-", "+", count: 100, messageOrder: Order.Descending),
            entries => entries.Any(e => e["id"] == lastId));
        Assert.Contains(newest, e => e["id"] == lastId);
        // A group created now sees only what is published from now on: the replay.
        await using var recorder = new FirehoseRecorder(redis, new FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c" }, e => e.ConversationId == conversationId);
        await recorder.CreateGroupAsync();
        recorder.Start();

        var (exitCode, output) = await RunSiloCommandAsync(EventReplay.CommandName, "--conversation", conversationId, "--from-seq", "11", "--to-seq", "20");

        Assert.True(exitCode == 0, output);
        Assert.Contains("replayed 10 message events of 1 conversations", output, StringComparison.Ordinal);
        var replayed = await recorder.WaitForAsync(k => k.Count >= 10);
        Assert.Equal(Enumerable.Range(11, 10).Select(i => $"m:{conversationId}:{i}"), replayed.Select(e => e.Id));
        Assert.Equal(Enumerable.Range(11, 10).Select(i => $"m{i}"), replayed.Select(e => System.Text.Json.JsonDocument.Parse(e.Data).RootElement.GetProperty("content").GetProperty("text").GetString()));
    }

    [Fact]
    public async Task The_replay_command_waits_for_room_by_size_and_drops_nothing_of_a_range_of_large_messages()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        // About 30 KB each as the buffer counts them (two bytes a character): its smallest size, 1 MiB, holds 34.
        for (var i = 1; i <= Large; i++)
        {
            await fixture.Client.SendTextAsync(conversationId, alice, $"m{i} " + new string('x', 15_000));
        }

        using var redis = await ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);
        // The silo's own events first (a group created after them sees only the replay).
        var lastId = $"m:{conversationId}:{Large}";
        await Eventually.UntilAsync(
            () => redis.GetDatabase().StreamRangeAsync(FirehoseStreams.For(EventClass.Message), "-", "+", count: 100, messageOrder: Order.Descending),
            entries => entries.Any(e => e["id"] == lastId));
        await using var recorder = new FirehoseRecorder(redis, new FirehoseConsumerOptions { Group = Ids.ClientMsgId(), Consumer = "c" }, e => e.ConversationId == conversationId);
        await recorder.CreateGroupAsync();
        recorder.Start();

        // A buffer of room for 34 such events by size (and thousands by count): the page of 60, handed over at once,
        // overflowed it, and the command said it replayed them all with exit code 0.
        var (exitCode, output) = await RunSiloCommandAsync(new Dictionary<string, string>
        {
            ["IM__Events__BufferBytes"] = $"{1 << 20}",
        }, EventReplay.CommandName, "--conversation", conversationId);

        Assert.True(exitCode == 0, output);
        Assert.Contains($"replayed {Large} message events of 1 conversations", output, StringComparison.Ordinal);
        var replayed = await recorder.WaitForAsync(k => k.Count >= Large);
        Assert.Equal(Enumerable.Range(1, Large).Select(i => $"m:{conversationId}:{i}"), replayed.Select(e => e.Id));
    }

    [Fact]
    public async Task The_replay_command_refuses_a_range_it_cannot_make_sense_of()
    {
        var (exitCode, output) = await RunSiloCommandAsync(EventReplay.CommandName, "--from-seq", "5");

        Assert.Equal(2, exitCode);
        Assert.Contains("--conversation", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task The_replay_command_gives_up_with_exit_code_1_when_redis_takes_nothing()
    {
        var (alice, bob) = (Ids.User("alice"), Ids.User("bob"));
        var conversationId = GrainKeys.P2P(alice, bob);
        for (var i = 1; i <= 10; i++)
        {
            await fixture.Client.SendTextAsync(conversationId, alice, $"m{i}");
        }

        // Nothing listens on port 1; a buffer of 4 is full after the first page, so the command waits for room that never comes.
        var (exitCode, output) = await RunSiloCommandAsync(new Dictionary<string, string>
        {
            ["IM__Events__Redis"] = "127.0.0.1:1,connectTimeout=500",
            ["IM__Events__BufferCapacity"] = "4",
            ["IM__Events__WriteTimeout"] = "00:00:00.500",
            ["IM__Events__FlushOnStop"] = "00:00:00",
        }, EventReplay.CommandName, "--conversation", conversationId);

        Assert.True(exitCode == 1, output);
        Assert.Contains("replay stopped: Redis took no events for 3 s", output, StringComparison.Ordinal);
    }

    private static Task<(int ExitCode, string Output)> RunSiloCommandAsync(params string[] args) => RunSiloCommandAsync(new Dictionary<string, string>(), args);

    private static async Task<(int ExitCode, string Output)> RunSiloCommandAsync(IReadOnlyDictionary<string, string> settings, params string[] args)
    {
        await using var process = HostProcess.StartCommand("Silo", args, new Dictionary<string, string>(settings)
        {
            ["IM__Postgres__ConnectionString"] = TestServices.PostgresConnectionString,
            ["IM__Redis__ConnectionString"] = TestServices.RedisConnectionString,
        });
        var exitCode = await process.WaitForExitAsync(TimeSpan.FromSeconds(60));
        return (exitCode, process.Output);
    }
}
