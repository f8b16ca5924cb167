using System.Collections.Concurrent;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Orleans.Im.Events;
using Orleans.Im.Silo;
using Orleans.Im.Silo.Events;
using Orleans.Im.Tests.Infrastructure;

namespace Orleans.Im.Tests.Events;

/// <summary>The silo's firehose publisher on a real Redis, outside a silo.</summary>
[Trait("Category", "Integration")]
public sealed class FirehosePublisherTests
{
    /// <summary>The Redis database of the firehose consumer tests: nobody reads database 0's streams for these events.</summary>
    private const int Database = 8;

    [Fact]
    public async Task Events_dropped_while_redis_is_up_but_behind_are_logged()
    {
        const int Capacity = 10;
        const int Published = 50;
        var logs = new LogLines();
        await using var provider = Publisher(logs, o => o.BufferCapacity = Capacity);
        var publisher = provider.GetRequiredService<RedisFirehosePublisher>();
        // Published before the pump runs: more than the buffer holds, as when the silo publishes faster than Redis takes
        // events; no write fails.
        var conversation = "p2p:publisher-test:" + Guid.NewGuid().ToString("N");
        for (var seq = 1; seq <= Published; seq++)
        {
            publisher.Publish(new FirehoseEvent($"m:{conversation}:{seq}", EventClass.Message, "message.sent", DateTimeOffset.UtcNow, conversation, seq, "u", "{}"));
        }

        await publisher.StartAsync(CancellationToken.None);
        try
        {
            var written = await Eventually.ReturnsAsync(() => Task.FromResult(publisher.Backlog), b => b == 0);
            Assert.Equal(0, written);
            Assert.False(publisher.RedisUnavailable);
            var dropped = await Eventually.ReturnsAsync(() => Task.FromResult(logs.Lines.Where(l => l.Contains("oldest events dropped", StringComparison.Ordinal)).ToList()),
                l => l.Count > 0);
            Assert.Equal($"Event firehose: buffer full ({Capacity} events or 256 MiB); {Published - Capacity} oldest events dropped — re-publish them with the replay command", Assert.Single(dropped));
        }
        finally
        {
            await publisher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task The_buffer_is_bounded_by_the_memory_its_events_take_not_only_by_their_number()
    {
        const int Published = 100;
        const int DataCharacters = 16 * 1024; // a message's content at its limit: ~32 KiB in memory
        const long Bytes = 1 << 20;
        var logs = new LogLines();
        await using var provider = Publisher(logs, o =>
        {
            o.BufferCapacity = 10_000;
            o.BufferBytes = Bytes;
        });
        var publisher = provider.GetRequiredService<RedisFirehosePublisher>();
        var conversation = "p2p:publisher-test:" + Guid.NewGuid().ToString("N");
        var data = "\"" + new string('x', DataCharacters - 2) + "\"";
        for (var seq = 1; seq <= Published; seq++)
        {
            publisher.Publish(new FirehoseEvent($"m:{conversation}:{seq}", EventClass.Message, "message.sent", DateTimeOffset.UtcNow, conversation, seq, "u", data));
        }

        // Held: what 1 MiB takes, about 30 of them, far fewer than the count allows.
        var held = publisher.Backlog;
        Assert.InRange(held, 1, (int)(Bytes / (2 * DataCharacters)));
        await publisher.StartAsync(CancellationToken.None);
        try
        {
            await Eventually.UntilAsync(() => Task.FromResult(publisher.Backlog), b => b == 0);
            var dropped = await Eventually.ReturnsAsync(() => Task.FromResult(logs.Lines.Where(l => l.Contains("oldest events dropped", StringComparison.Ordinal)).ToList()),
                l => l.Count > 0);
            Assert.Equal($"Event firehose: buffer full (10000 events or 1 MiB); {Published - held} oldest events dropped — re-publish them with the replay command", Assert.Single(dropped));
        }
        finally
        {
            await publisher.StopAsync(CancellationToken.None);
        }
    }

    [Fact]
    public async Task A_stream_redis_refuses_holds_its_own_events_in_order_while_the_other_streams_take_theirs_once()
    {
        const int Each = 10;
        var logs = new LogLines();
        await using var provider = Publisher(logs, o => o.MaxRetryDelay = TimeSpan.FromMilliseconds(200), OwnDatabase);
        var publisher = provider.GetRequiredService<RedisFirehosePublisher>();
        await using var redis = await StackExchange.Redis.ConnectionMultiplexer.ConnectAsync(TestServices.RedisConnectionString);
        var database = redis.GetDatabase(OwnDatabase);
        var messages = FirehoseStreams.For(EventClass.Message);
        var recalls = FirehoseStreams.For(EventClass.Recall);
        await database.KeyDeleteAsync([messages, recalls]);
        // A key of the wrong type: every XADD to it fails (WRONGTYPE), as a lasting failure of one stream does.
        await database.StringSetAsync(recalls, "not a stream");
        var conversation = "p2p:publisher-test:" + Guid.NewGuid().ToString("N");
        for (var seq = 1; seq <= Each; seq++)
        {
            publisher.Publish(new FirehoseEvent($"m:{conversation}:{seq}", EventClass.Message, "message.sent", DateTimeOffset.UtcNow, conversation, seq, "u", "{}"));
            publisher.Publish(new FirehoseEvent($"r:{conversation}:{seq}", EventClass.Recall, "message.recalled", DateTimeOffset.UtcNow, conversation, seq, "u", "{}"));
        }

        await publisher.StartAsync(CancellationToken.None);
        try
        {
            Assert.Equal(Each, await Eventually.ReturnsAsync(() => Task.FromResult(publisher.Backlog), b => b == Each));
            // Several retries of the refused stream later (at most 200 ms apart), the other took each of its events once, in order.
            await Task.Delay(TimeSpan.FromSeconds(2));
            Assert.Equal(Enumerable.Range(1, Each).Select(seq => $"m:{conversation}:{seq}"), await IdsAsync(database, messages));
            Assert.Equal(Each, publisher.Backlog);

            await database.KeyDeleteAsync(recalls);
            Assert.Equal(0, await Eventually.ReturnsAsync(() => Task.FromResult(publisher.Backlog), b => b == 0));
            Assert.Equal(Enumerable.Range(1, Each).Select(seq => $"r:{conversation}:{seq}"), await IdsAsync(database, recalls));
            Assert.Equal(Each, (await IdsAsync(database, messages)).Count);
        }
        finally
        {
            await publisher.StopAsync(CancellationToken.None);
        }
    }

    /// <summary>A database of its own: the test makes a stream's key unusable.</summary>
    private const int OwnDatabase = 10;

    private static async Task<List<string>> IdsAsync(StackExchange.Redis.IDatabase database, string stream) =>
        (await database.StreamRangeAsync(stream, "-", "+")).Select(e => (string)e["id"]!).ToList();

    /// <summary>Services with the firehose publisher (not started) on this test's Redis database, logging into <paramref name="logs"/>.</summary>
    private static ServiceProvider Publisher(LogLines logs, Action<FirehoseOptions> configure, int database = Database) =>
        new ServiceCollection()
            .AddLogging(b => b.AddProvider(logs))
            .AddMetrics()
            .AddImFirehose(o =>
            {
                o.Redis = $"{TestServices.RedisConnectionString},defaultDatabase={database}";
                configure(o);
            })
            .BuildServiceProvider();

    private sealed class LogLines : ILoggerProvider
    {
        private readonly ConcurrentQueue<string> _lines = new();

        public IReadOnlyList<string> Lines => [.. _lines];

        public ILogger CreateLogger(string categoryName) => new Logger(_lines);

        public void Dispose()
        {
        }

        private sealed class Logger(ConcurrentQueue<string> lines) : ILogger
        {
            public IDisposable? BeginScope<TState>(TState state) where TState : notnull => null;

            public bool IsEnabled(LogLevel logLevel) => logLevel >= LogLevel.Information;

            public void Log<TState>(LogLevel logLevel, EventId eventId, TState state, Exception? exception, Func<TState, Exception?, string> formatter)
            {
                if (IsEnabled(logLevel))
                {
                    lines.Enqueue(formatter(state, exception));
                }
            }
        }
    }
}
