using Orleans.Im.Conversations;
using Orleans.Im.Messages;
using Orleans.Im.Silo.Storage;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Foundation;

/// <summary>
/// The message log's batch append on a real PostgreSQL: a batch of new rows takes the plain insert; a batch holding a
/// retry of a stored message or a taken seq fails that insert as a whole and is resolved row by row, each run (one
/// conversation's consecutive seqs) kept whole or not at all.
/// </summary>
[Trait("Category", "Integration")]
public sealed class MessageLogAppendTests
{
    private static readonly DateTimeOffset At = new(2026, 11, 23, 12, 0, 0, TimeSpan.Zero);

    [Fact]
    public async Task A_batch_of_new_messages_is_stored_whole()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var log = new PostgresMessageLog(database.DataSource, new GroupCommitOptions());

        var outcomes = await log.AppendBatchAsync([Message("c1", 1, "alice", "a-1"), Message("c1", 2, "bob", "b-1"), Message("c2", 1, "alice", "a-2")], CancellationToken.None);

        Assert.All(outcomes, o => Assert.Equal(AppendStatus.Appended, o.Status));
        Assert.Equal([1L, 2L, 1L], outcomes.Select(o => o.Seq));
        Assert.Equal(3, log.AppendedCount);
        Assert.Equal(["a-1", "b-1"], (await log.ReadAsync("c1", 0, long.MaxValue, 10, newest: false)).Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task A_batch_with_a_retry_and_a_taken_seq_stores_the_rest_and_says_which_was_which()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var log = new PostgresMessageLog(database.DataSource, new GroupCommitOptions());
        var stored = Message("c1", 1, "alice", "a-1");
        await log.AppendBatchAsync([stored], CancellationToken.None);

        var outcomes = await log.AppendBatchAsync(
        [
            Message("c1", 2, "alice", "a-1"), // the same message again, after its ack was lost: a duplicate of seq 1
            Message("c1", 1, "bob", "b-1"), // seq 1 is taken by another message
            Message("c1", 2, "bob", "b-2"), // new
        ], CancellationToken.None);

        Assert.Equal(new AppendOutcome(AppendStatus.Duplicate, 1, stored.ServerTime), outcomes[0]);
        Assert.Equal(AppendStatus.SeqTaken, outcomes[1].Status);
        Assert.Equal(new AppendOutcome(AppendStatus.Appended, 2, At), outcomes[2]);
        Assert.Equal(2, log.AppendedCount);
        Assert.Equal(["a-1", "b-2"], (await log.ReadAsync("c1", 0, long.MaxValue, 10, newest: false)).Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task A_run_is_stored_whole_or_not_at_all()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var log = new PostgresMessageLog(database.DataSource, new GroupCommitOptions());
        var stored = Message("c1", 1, "alice", "a-1");
        Assert.Equal(AppendStatus.Appended, Assert.Single(await log.AppendRunAsync([stored])).Status);

        // A run holding a retry of a stored message: storing the others would leave seq 3 a hole, so none is stored.
        var outcomes = await log.AppendRunAsync([Message("c1", 2, "bob", "b-1"), Message("c1", 3, "alice", "a-1"), Message("c1", 4, "bob", "b-2")]);

        Assert.Equal([AppendStatus.NotStored, AppendStatus.Duplicate, AppendStatus.NotStored], outcomes.Select(o => o.Status));
        Assert.Equal(new AppendOutcome(AppendStatus.Duplicate, 1, stored.ServerTime), outcomes[1]);
        Assert.Equal(1, log.AppendedCount);
        Assert.Equal(["a-1"], (await log.ReadAsync("c1", 0, long.MaxValue, 10, newest: false)).Select(m => m.ClientMsgId));

        // Sent again without the retry, under the next seqs, the run is stored whole.
        outcomes = await log.AppendRunAsync([Message("c1", 2, "bob", "b-1"), Message("c1", 3, "bob", "b-2")]);
        Assert.All(outcomes, o => Assert.Equal(AppendStatus.Appended, o.Status));
        Assert.Equal(["a-1", "b-1", "b-2"], (await log.ReadAsync("c1", 0, long.MaxValue, 10, newest: false)).Select(m => m.ClientMsgId));
    }

    [Fact]
    public async Task A_message_the_database_refuses_fails_alone_and_the_rest_of_its_batch_is_stored()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var log = new PostgresMessageLog(database.DataSource, new GroupCommitOptions());

        // Messages of five conversations committed in one batch, as the group committer would: text with a NUL (jsonb
        // refuses its \u0000), a client id with a NUL (text refuses 0x00), a client id with half an emoji (Npgsql's strict
        // UTF-8 encoder refuses it before sending).
        var outcomes = await log.AppendBatchAsync(
        [
            Message("c1", 1, "alice", "a-1"),
            Message("c2", 1, "bob", "b-1") with { Content = MessageContent.FromText("nul \0 inside") },
            Message("c3", 1, "carol", "c-\0-1"),
            Message("c4", 1, "dave", "d-\uD83D"),
            Message("c5", 1, "erin", "e-1"),
        ], CancellationToken.None);

        Assert.Equal([AppendStatus.Appended, AppendStatus.Rejected, AppendStatus.Rejected, AppendStatus.Rejected, AppendStatus.Appended],
            outcomes.Select(o => o.Status));
        Assert.Equal(2, log.AppendedCount);
        Assert.Equal(["a-1"], (await log.ReadAsync("c1", 0, long.MaxValue, 10, newest: false)).Select(m => m.ClientMsgId));
        Assert.Equal(["e-1"], (await log.ReadAsync("c5", 0, long.MaxValue, 10, newest: false)).Select(m => m.ClientMsgId));
        Assert.Empty(await log.ReadAsync("c2", 0, long.MaxValue, 10, newest: false));
    }

    [Fact]
    public async Task A_run_with_a_refused_message_is_not_stored_and_only_that_message_is_rejected()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var log = new PostgresMessageLog(database.DataSource, new GroupCommitOptions());

        var outcomes = await log.AppendRunAsync(
            [Message("c1", 1, "alice", "a-1"), Message("c1", 2, "alice", "a-2") with { CollapseKey = "k\0" }, Message("c1", 3, "alice", "a-3")]);

        Assert.Equal([AppendStatus.NotStored, AppendStatus.Rejected, AppendStatus.NotStored], outcomes.Select(o => o.Status));
        Assert.Empty(await log.ReadAsync("c1", 0, long.MaxValue, 10, newest: false));

        // The others, sent again without it under the next seqs, are stored.
        outcomes = await log.AppendRunAsync([Message("c1", 1, "alice", "a-1"), Message("c1", 2, "alice", "a-3")]);
        Assert.All(outcomes, o => Assert.Equal(AppendStatus.Appended, o.Status));
    }

    [Fact]
    public async Task An_index_rebuild_finds_the_users_own_last_message_among_the_newest_and_not_beyond()
    {
        await using var database = await TestServices.CreateScratchDatabaseAsync();
        await SchemaMigrator.ApplyAsync(database.DataSource);
        await using var log = new PostgresMessageLog(database.DataSource, new GroupCommitOptions());
        // A busy group: alice wrote once near the start and once among the newest; bob wrote the rest.
        var limit = PostgresMessageLog.OwnMessageSearchLimit;
        var head = limit + 500L;
        var early = 10L;
        var recent = head - (limit / 2);
        var messages = Enumerable.Range(1, (int)head)
            .Select(seq => Message("g1", seq, seq == early || seq == recent ? "alice" : "bob", $"m-{seq}"))
            .ToList();
        foreach (var chunk in messages.Chunk(500))
        {
            Assert.All(await log.AppendBatchAsync(chunk, CancellationToken.None), o => Assert.Equal(AppendStatus.Appended, o.Status));
        }

        // An entry that lags the whole log (a member of a read-diffusion group who has not synced for a long time).
        var positions = await log.ReadPositionsAsync("alice", new Dictionary<string, long> { ["g1"] = 0, ["g2"] = 0 });
        Assert.Equal(new LogPosition(head, recent), positions["g1"]);
        Assert.Equal(new LogPosition(0, 0), positions["g2"]);

        // Alice's only own message is far behind the head: the search, bounded to the newest messages, does not walk
        // back to it (the stored read position already counts what she sent before the entry was last written).
        await log.AppendBatchAsync([Message("g3", 1, "alice", "a-old"), .. Enumerable.Range(2, limit + 10).Select(seq => Message("g3", seq, "bob", $"b-{seq}"))], CancellationToken.None);
        Assert.Equal(new LogPosition(limit + 11L, 0), (await log.ReadPositionsAsync("alice", new Dictionary<string, long> { ["g3"] = 0 }))["g3"]);

        // A robot's replies are its own but read nothing (RobotReplyIds): only its own mark says it handled the question.
        await log.AppendBatchAsync([Message("p1", 1, "user", "q-1"), Message("p1", 2, "bot", "robot-0-0"), Message("p1", 3, "user", "q-3"), Message("p1", 4, "bot", "robot-3-0")], CancellationToken.None);
        Assert.Equal(new LogPosition(4, 2), (await log.ReadPositionsAsync("bot", new Dictionary<string, long> { ["p1"] = 0 }))["p1"]);
        Assert.False(RobotReplyIds.TryParseSource("robot-0-0", out _));
    }

    private static ChatMessage Message(string conversationId, long seq, string senderId, string clientMsgId) =>
        new(conversationId, seq, senderId, "d1", clientMsgId, MessageClass.Persistent, MessageContent.FromText(clientMsgId), At);
}
