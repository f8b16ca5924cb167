using Orleans.Im.Events;
using Orleans.Im.Firehose;
using Orleans.Im.Tests.Infrastructure;
using StackExchange.Redis;

namespace Orleans.Im.Tests.Events;

/// <summary>
/// The firehose consumer on a real Redis, driven directly (entries appended by the test): what happens to an event whose
/// handler failed, and to entries a consumer holds while another consumer of its group looks for abandoned ones.
/// </summary>
[Trait("Category", "Integration")]
public sealed class FirehoseConsumerTests : IAsyncLifetime
{
    /// <summary>A Redis database of this class's own: the publisher's tests (database 8) run at the same time and append
    /// to the same streams, and a consumer stopped while it held a batch of theirs left it pending in this test's
    /// group.</summary>
    private const int Database = 9;

    private readonly string _conversation = "p2p:consumer-test:" + Guid.NewGuid().ToString("N");
    private ConnectionMultiplexer _redis = null!;

    public async Task InitializeAsync() =>
        _redis = await ConnectionMultiplexer.ConnectAsync($"{TestServices.RedisConnectionString},defaultDatabase={Database}");

    public async Task DisposeAsync() => await _redis.DisposeAsync();

    [Fact]
    public async Task An_event_whose_handler_threw_is_handed_over_by_the_next_run_of_the_same_consumer()
    {
        var consumer = new FirehoseConsumer(_redis, Options("c"));
        await consumer.EnsureGroupAsync();
        var failing = await AppendAsync(1);

        // The first run's handler fails (e.g. a webhook dead-letter write while Redis was away): the run stops.
        await Assert.ThrowsAsync<InvalidOperationException>(() => consumer.RunAsync(
            (e, _) => e.ConversationId == _conversation ? throw new InvalidOperationException("handler failed") : Task.CompletedTask,
            CancellationToken.None));

        // The next run of the same instance first drains what it holds, then reads the marker appended after it.
        var marker = await AppendAsync(2);
        var handled = await HandledUpToAsync(consumer, marker);

        Assert.Equal([failing, marker], handled);
        Assert.Equal(0, (await _redis.GetDatabase().StreamPendingAsync(Stream, Options("c").Group)).PendingMessageCount);
    }

    [Fact]
    public async Task Entries_a_consumer_holds_while_its_handler_is_slow_are_not_claimed_by_another_consumer_of_the_group()
    {
        var claimAfter = TimeSpan.FromSeconds(2);
        var ids = new List<string>();
        await new FirehoseConsumer(_redis, Options("a", claimAfter)).EnsureGroupAsync();
        for (var seq = 1; seq <= 5; seq++)
        {
            ids.Add(await AppendAsync(seq));
        }

        var byA = new List<string>();
        var byB = new List<string>();
        var aTookTheBatch = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var a = new FirehoseConsumer(_redis, Options("a", claimAfter)).RunAsync(async (e, ct) =>
        {
            if (e.ConversationId != _conversation)
            {
                return;
            }

            if (e.Id == ids[0])
            {
                aTookTheBatch.SetResult();
                // A receiver that takes a while (a webhook retrying with backoff): longer than twice the claim time, so
                // that B looks for abandoned entries at least twice meanwhile.
                await Task.Delay(claimAfter * 2.5, ct);
            }

            lock (byA)
            {
                byA.Add(e.Id);
                if (byA.Count == ids.Count)
                {
                    aDone.SetResult();
                }
            }
        }, stop.Token);
        await aTookTheBatch.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var b = new FirehoseConsumer(_redis, Options("b", claimAfter)).RunAsync(RecordInto(byB), stop.Token);

        await aDone.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(a, b);

        Assert.Equal(ids, byA);
        Assert.Empty(byB);
        Assert.Equal(0, (await _redis.GetDatabase().StreamPendingAsync(Stream, Options("a").Group)).PendingMessageCount);
    }

    [Fact]
    public async Task Entries_claimed_away_while_a_consumer_was_busy_are_left_to_the_consumer_that_claimed_them()
    {
        var claimAfter = TimeSpan.FromSeconds(1);
        var options = Options("a", claimAfter);
        var ids = new List<string>();
        await new FirehoseConsumer(_redis, options).EnsureGroupAsync();
        for (var seq = 1; seq <= 5; seq++)
        {
            ids.Add(await AppendAsync(seq));
        }

        var database = _redis.GetDatabase();
        string marker = "";
        var handled = new List<string>();
        using var stop = new CancellationTokenSource();
        await new FirehoseConsumer(_redis, options).RunAsync(async (e, ct) =>
        {
            if (e.ConversationId != _conversation)
            {
                return;
            }

            handled.Add(e.Id);
            if (e.Id == ids[0])
            {
                // Another consumer takes the rest of the batch, as one does after this one could not reach Redis for
                // the claim time (the stand-in claims at once: that lapse cannot be staged here), ...
                var entries = await database.StreamRangeAsync(Stream, "-", "+");
                var rest = entries.Where(x => ids.Skip(1).Contains((string?)x["id"])).Select(x => x.Id).ToArray();
                Assert.Equal(4, (await database.StreamClaimIdsOnlyAsync(Stream, options.Group, "other", 0, rest)).Length);
                marker = await AppendAsync(6);
                // ... and this delivery takes longer than the claim time: what this consumer knew it held is stale.
                await Task.Delay(claimAfter, ct);
                // The other consumer is alive: it keeps its hold fresh (else this one would rightly claim them back).
                Assert.Equal(4, (await database.StreamClaimIdsOnlyAsync(Stream, options.Group, "other", 0, rest)).Length);
            }
            else if (e.Id == marker)
            {
                stop.Cancel();
            }
        }, stop.Token);

        Assert.Equal([ids[0], marker], handled);
        var pending = await database.StreamPendingMessagesAsync(Stream, options.Group, 10, RedisValue.Null);
        Assert.Equal(4, pending.Length);
        Assert.All(pending, p => Assert.Equal("other", p.ConsumerName));
    }

    [Fact]
    public async Task An_event_written_again_after_more_events_than_the_count_window_is_dropped_within_the_time_window()
    {
        // A window of 5 ids (a busy deployment's 20,000 are under a second of events); the publisher's retry of the first
        // event comes after 20 others, seconds later: still a duplicate.
        var consumer = new FirehoseConsumer(_redis, Options("dedupe", duplicateWindow: 5));
        await consumer.EnsureGroupAsync();
        var first = await AppendAsync(1);
        for (var seq = 2; seq <= 21; seq++)
        {
            await AppendAsync(seq);
        }

        await AppendAsync(1);
        var marker = await AppendAsync(22);
        var handled = await HandledUpToAsync(consumer, marker);

        Assert.Equal(22, handled.Count);
        Assert.Single(handled, id => id == first);
    }

    [Fact]
    public async Task Entries_trimmed_from_the_stream_while_a_consumer_works_through_them_are_still_handed_over()
    {
        // A consumer at the retention edge: the stream is trimmed past the batch it is working through. It read the
        // entries' fields, nobody else can have them any more, and its renewals must not drop them.
        var claimAfter = TimeSpan.FromMilliseconds(400);
        var consumer = new FirehoseConsumer(_redis, Options("trimmed", claimAfter));
        await consumer.EnsureGroupAsync();
        var ids = new List<string>();
        for (var seq = 1; seq <= 3; seq++)
        {
            ids.Add(await AppendAsync(seq));
        }

        var database = _redis.GetDatabase();
        var handled = new List<string>();
        string? marker = null;
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await consumer.RunAsync(async (e, ct) =>
        {
            if (e.ConversationId != _conversation)
            {
                return;
            }

            handled.Add(e.Id);
            if (e.Id == ids[0])
            {
                await database.StreamTrimAsync(Stream, 0);
                // Longer than the background renewal's interval and than a fresh hold: both renew before the next event.
                await Task.Delay(claimAfter, ct);
                marker = await AppendAsync(4);
            }
            else if (e.Id == marker)
            {
                await stop.CancelAsync();
            }
        }, stop.Token);

        Assert.Equal([.. ids, marker!], handled);
    }

    [Fact]
    public async Task A_read_of_two_streams_keeps_the_hold_on_the_second_while_the_first_ones_handler_is_slow()
    {
        // Renewed every 0.75 s against a claim time of 3 s: a stall of a busy machine does not let B claim a renewed hold.
        var claimAfter = TimeSpan.FromSeconds(3);
        var options = Options("a", claimAfter, classes: [EventClass.Message, EventClass.Recall]);
        await new FirehoseConsumer(_redis, options).EnsureGroupAsync();
        var message = await AppendAsync(1);
        var recall = await AppendAsync(1, EventClass.Recall);

        var byA = new List<string>();
        var byB = new List<string>();
        var aTookTheRead = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var aDone = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var a = new FirehoseConsumer(_redis, options).RunAsync(async (e, ct) =>
        {
            if (e.ConversationId != _conversation)
            {
                return;
            }

            if (e.Id == message)
            {
                aTookTheRead.SetResult();
                // Long enough for B to look for abandoned entries twice.
                await Task.Delay(claimAfter * 2.5, ct);
            }

            lock (byA)
            {
                byA.Add(e.Id);
                if (byA.Count == 2)
                {
                    aDone.SetResult();
                }
            }
        }, stop.Token);
        await aTookTheRead.Task.WaitAsync(TimeSpan.FromSeconds(30));
        var b = new FirehoseConsumer(_redis, Options("b", claimAfter, classes: options.Classes)).RunAsync(RecordInto(byB), stop.Token);

        await aDone.Task.WaitAsync(TimeSpan.FromSeconds(60));
        await stop.CancelAsync();
        await Task.WhenAll(a, b);

        // Before, the recall's entry waited unrenewed behind the slow message: B claimed it as abandoned.
        Assert.Equal([message, recall], byA);
        Assert.Empty(byB);
    }

    [Fact]
    public async Task A_departed_consumers_entries_are_claimed_even_behind_more_than_ten_entries_a_live_consumer_holds()
    {
        // One XAUTOCLAIM looks at no more than ten times its count of pending entries; a webhook's consumers take one
        // event at a time, and live ones retrying deliveries hold the head of the pending list.
        var claimAfter = TimeSpan.FromSeconds(3);
        var group = Options("c", claimAfter).Group;
        await new FirehoseConsumer(_redis, Options("c", claimAfter)).EnsureGroupAsync();
        var database = _redis.GetDatabase();
        for (var seq = 1; seq <= 12; seq++)
        {
            await AppendAsync(seq);
        }

        var busy = (await database.StreamReadGroupAsync(Stream, group, "busy", ">", 12)).Select(e => e.Id).ToArray();
        var left = new List<string>();
        for (var seq = 13; seq <= 15; seq++)
        {
            left.Add(await AppendAsync(seq));
        }

        Assert.Equal(3, (await database.StreamReadGroupAsync(Stream, group, "gone", ">", 3)).Length);
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(45));

        // The live consumer keeps renewing its hold, as a consumer busy with a delivery does.
        var renewing = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                await database.StreamClaimIdsOnlyAsync(Stream, group, "busy", 0, busy);
                await Task.Delay(TimeSpan.FromMilliseconds(200));
            }
        });
        var claimed = new List<string>();
        var consumer = new FirehoseConsumer(_redis, new FirehoseConsumerOptions
        {
            Group = group,
            Consumer = "c",
            BatchSize = 1,
            MaxIdleDelay = TimeSpan.FromMilliseconds(20),
            ClaimAfter = claimAfter,
        });
        await consumer.RunAsync((e, _) =>
        {
            claimed.Add(e.Id);
            if (claimed.Count == left.Count)
            {
                stop.Cancel();
            }

            return Task.CompletedTask;
        }, stop.Token);
        await renewing;

        Assert.Equal(left, claimed);
    }

    [Fact]
    public async Task A_run_goes_on_after_redis_was_away_and_hands_over_what_came_meanwhile()
    {
        await using var server = await PrivateRedis.StartAsync();
        await using var redis = await ConnectionMultiplexer.ConnectAsync($"{server.ConnectionString},abortConnect=false,connectTimeout=1000,syncTimeout=1000,asyncTimeout=1000");
        var options = new FirehoseConsumerOptions
        {
            Group = "outage",
            Consumer = "reader",
            MaxIdleDelay = TimeSpan.FromMilliseconds(20),
            RetryDelay = TimeSpan.FromMilliseconds(100),
            MaxRetryDelay = TimeSpan.FromMilliseconds(500),
        };
        var consumer = new FirehoseConsumer(redis, options);
        await consumer.EnsureGroupAsync();
        var handled = new List<string>();
        var first = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        var second = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        using var stop = new CancellationTokenSource();
        var run = consumer.RunAsync((e, _) =>
        {
            handled.Add(e.Id);
            (e.Seq == 1 ? first : second).TrySetResult();
            return Task.CompletedTask;
        }, stop.Token);
        await AppendAsync(redis.GetDatabase(), 1);
        await first.Task.WaitAsync(TimeSpan.FromSeconds(30));

        // Before, the first failed read ended the run, and a consumer written as the documentation shows stopped for good.
        await server.StopAsync();
        await Task.Delay(TimeSpan.FromSeconds(2));
        Assert.False(run.IsCompleted, "the run ended while Redis was away");
        await server.StartAgainAsync();
        var appended = await Eventually.ReturnsAsync(async () =>
        {
            try
            {
                return (string?)await AppendAsync(redis.GetDatabase(), 2);
            }
            catch (RedisException)
            {
                return null;
            }
        }, id => id is not null, TimeSpan.FromSeconds(30));
        await second.Task.WaitAsync(TimeSpan.FromSeconds(30));
        await stop.CancelAsync();
        await run;

        Assert.Equal([$"m:{_conversation}:1", appended!], handled);
    }

    [Fact]
    public async Task A_redis_error_that_is_no_outage_ends_the_run_for_the_caller_to_see()
    {
        // The edit stream's key holds a string (a wrong deployment, another application's key): every try would fail alike.
        var key = FirehoseStreams.For(EventClass.Edit);
        var database = _redis.GetDatabase();
        await database.KeyDeleteAsync(key);
        await database.StringSetAsync(key, "not a stream");
        try
        {
            using var patience = new CancellationTokenSource(TimeSpan.FromSeconds(20));
            var consumer = new FirehoseConsumer(_redis, Options("wrong-type", classes: [EventClass.Edit]));

            var failed = await Assert.ThrowsAsync<RedisServerException>(() => consumer.RunAsync((_, _) => Task.CompletedTask, patience.Token));

            Assert.StartsWith("WRONGTYPE", failed.Message, StringComparison.Ordinal);
        }
        finally
        {
            await database.KeyDeleteAsync(key);
        }
    }

    /// <summary>A handler that records this test's events in <paramref name="handled"/> (locked: consumers run concurrently).</summary>
    private Func<FirehoseEvent, CancellationToken, Task> RecordInto(List<string> handled) => (e, _) =>
    {
        if (e.ConversationId == _conversation)
        {
            lock (handled)
            {
                handled.Add(e.Id);
            }
        }

        return Task.CompletedTask;
    };

    /// <summary>Runs <paramref name="consumer"/> until it has handled <paramref name="marker"/>: this test's events it handled, in order.</summary>
    private async Task<List<string>> HandledUpToAsync(FirehoseConsumer consumer, string marker)
    {
        var handled = new List<string>();
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await consumer.RunAsync((e, _) =>
        {
            if (e.ConversationId == _conversation)
            {
                handled.Add(e.Id);
                if (e.Id == marker)
                {
                    stop.Cancel();
                }
            }

            return Task.CompletedTask;
        }, stop.Token);
        return handled;
    }

    private static RedisKey Stream => FirehoseStreams.For(EventClass.Message);

    private FirehoseConsumerOptions Options(string consumer, TimeSpan? claimAfter = null, int duplicateWindow = 20_000, IReadOnlyList<EventClass>? classes = null) => new()
    {
        Classes = classes ?? [EventClass.Message],
        DuplicateWindow = duplicateWindow,
        Group = "consumer-test-" + _conversation,
        Consumer = consumer,
        BatchSize = 10,
        MaxIdleDelay = TimeSpan.FromMilliseconds(20),
        ClaimAfter = claimAfter ?? TimeSpan.FromMinutes(1),
    };

    private Task<string> AppendAsync(long seq, EventClass eventClass = EventClass.Message) => AppendAsync(_redis.GetDatabase(), seq, eventClass);

    private async Task<string> AppendAsync(IDatabase database, long seq, EventClass eventClass = EventClass.Message)
    {
        var (prefix, type) = eventClass == EventClass.Message ? ("m", "message.sent") : ("r", "message.recalled");
        var e = new FirehoseEvent($"{prefix}:{_conversation}:{seq}", eventClass, type, DateTimeOffset.UtcNow, _conversation, seq, "u", "{}");
        await database.StreamAddAsync(FirehoseStreams.For(eventClass), FirehoseFields.ToFields(e).Select(f => new NameValueEntry(f.Key, f.Value)).ToArray());
        return e.Id;
    }
}
