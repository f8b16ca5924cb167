using Microsoft.Extensions.Options;
using Npgsql;
using Orleans.Im.Events;
using Orleans.Im.Messages;
using Orleans.Im.Silo.Storage;

namespace Orleans.Im.Silo.Events;

/// <summary>
/// <c>Silo replay-events</c>: re-publishes stored messages from the log (the truth) to the firehose, through the same
/// publisher the silo uses — e.g. after Redis lost data, or the buffer overflowed during a long Redis outage.
/// </summary>
public static class EventReplay
{
    /// <summary>The command's name on the silo's command line.</summary>
    public const string CommandName = "replay-events";

    private const int PageSize = 500;

    /// <summary>How long the command waits for Redis to take events (write timeouts), without progress, before giving up.</summary>
    private const int PatienceInWriteTimeouts = 6;

    private static readonly TimeSpan BacklogPoll = TimeSpan.FromMilliseconds(20);

    /// <summary>Runs the command; returns the process exit code.</summary>
    public static async Task<int> RunAsync(IReadOnlyList<string> args)
    {
        var range = ReplayRange.Parse(args, out var error);
        if (range is null)
        {
            await Console.Error.WriteLineAsync(error + "\n" + ReplayRange.Usage);
            return 2;
        }

        var builder = Host.CreateApplicationBuilder();
        var configuration = builder.Configuration;
        var dataSource = SiloHosting.CreateDataSource(configuration.GetRequiredSetting(SiloHosting.PostgresConnectionStringKey));
        builder.Services.AddSingleton(dataSource);
        builder.Services.AddImFirehose(o =>
        {
            configuration.GetSection(FirehoseOptions.Section).Bind(o);
            o.Enabled = true;
            o.Redis = o.Redis is { Length: > 0 } ? o.Redis : configuration.GetRequiredSetting("IM:Redis:ConnectionString");
        });
        using var host = builder.Build();
        var publisher = host.Services.GetRequiredService<RedisFirehosePublisher>();
        var options = host.Services.GetRequiredService<IOptions<FirehoseOptions>>().Value;
        await host.StartAsync();
        var log = new PostgresMessageLog(dataSource, new GroupCommitOptions());
        await using (log)
        {
            var conversations = range.ConversationId is { } one ? [one] : await ConversationsInAsync(dataSource, range);
            long published = 0;
            var droppedBefore = publisher.Dropped;
            foreach (var conversationId in conversations)
            {
                var (from, to) = range.ConversationId is null ? await SeqsInAsync(dataSource, conversationId, range) : (range.FromSeq, range.ToSeq);
                for (var after = from - 1; after < to;)
                {
                    var page = await log.ReadAsync(conversationId, after, to == long.MaxValue ? to : to + 1, PageSize, newest: false);
                    var roomLeft = true;
                    foreach (var message in page.Where(m => m.Class != MessageClass.Instant))
                    {
                        // Never more in hand than half the buffer, by count or by size (a page of large messages fills its
                        // bytes long before its count): the buffer drops the oldest when full. With Redis away, waiting for
                        // room would last for ever: give up when Redis took nothing for a while.
                        roomLeft = await WaitBacklogAsync(publisher, options.BufferCapacity / 2, options.BufferBytes / 2, options.WriteTimeout * PatienceInWriteTimeouts);
                        if (!roomLeft)
                        {
                            break;
                        }

                        publisher.Publish(FirehoseEvents.MessageSent(message));
                        published++;
                    }

                    if (!roomLeft)
                    {
                        await host.StopAsync();
                        await Console.Error.WriteLineAsync(
                            $"replay stopped: Redis took no events for {(options.WriteTimeout * PatienceInWriteTimeouts).TotalSeconds:0.#} s "
                            + $"(Redis unavailable); {published} message events handed over, {publisher.Backlog} NOT written; the range was not "
                            + "replayed in full: run the command again once Redis is back");
                        return 1;
                    }

                    if (page.Count < PageSize)
                    {
                        break;
                    }

                    after = page[^1].Seq;
                }
            }

            var flushed = await WaitBacklogAsync(publisher, 0, 0, options.WriteTimeout * PatienceInWriteTimeouts);
            var dropped = publisher.Dropped - droppedBefore;
            await host.StopAsync();
            Console.WriteLine($"replayed {published} message events of {conversations.Count} conversations{(flushed ? "" : $"; {publisher.Backlog} NOT written (Redis unavailable)")}");
            if (dropped > 0)
            {
                // Success would be a lie: this is the tool that restores events lost, and it lost some itself.
                await Console.Error.WriteLineAsync(
                    $"{dropped} events were dropped (the buffer overflowed while Redis was slow): the range was not replayed in "
                    + "full; run the command again, for a smaller range or with a larger IM:Events:BufferBytes");
            }

            return flushed && dropped == 0 ? 0 : 1;
        }
    }

    /// <summary>
    /// Waits until the publisher holds at most <paramref name="limit"/> events of at most <paramref name="bytesLimit"/>
    /// bytes; false when it took none for <paramref name="patience"/> (Redis away). A slow Redis that keeps taking events
    /// is waited for.
    /// </summary>
    private static async Task<bool> WaitBacklogAsync(RedisFirehosePublisher publisher, int limit, long bytesLimit, TimeSpan patience)
    {
        bool Within() => publisher.Backlog <= limit && publisher.BufferedBytes <= bytesLimit;
        var backlog = publisher.Backlog;
        var deadline = DateTime.UtcNow + patience;
        while (!Within() && DateTime.UtcNow < deadline)
        {
            await Task.Delay(BacklogPoll);
            var now = publisher.Backlog;
            if (now < backlog)
            {
                deadline = DateTime.UtcNow + patience;
            }

            backlog = now;
        }

        return Within();
    }

    /// <summary>Conversations with messages in the time range (a scan of the log: this is an operator's command).</summary>
    private static async Task<IReadOnlyList<string>> ConversationsInAsync(NpgsqlDataSource dataSource, ReplayRange range)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT DISTINCT conversation_id FROM messages WHERE server_time >= @since AND server_time < @until ORDER BY conversation_id");
        AddTimes(command, range);
        var ids = new List<string>();
        await using var reader = await command.ExecuteReaderAsync();
        while (await reader.ReadAsync())
        {
            ids.Add(reader.GetString(0));
        }

        return ids;
    }

    private static async Task<(long From, long To)> SeqsInAsync(NpgsqlDataSource dataSource, string conversationId, ReplayRange range)
    {
        await using var command = dataSource.CreateCommand(
            "SELECT min(seq), max(seq) FROM messages WHERE conversation_id = @conversation AND server_time >= @since AND server_time < @until");
        command.Parameters.AddWithValue("conversation", conversationId);
        AddTimes(command, range);
        await using var reader = await command.ExecuteReaderAsync();
        await reader.ReadAsync();
        return reader.IsDBNull(0) ? (1, 0) : (reader.GetInt64(0), reader.GetInt64(1));
    }

    private static void AddTimes(NpgsqlCommand command, ReplayRange range)
    {
        command.Parameters.AddWithValue("since", (range.Since ?? DateTimeOffset.MinValue).UtcDateTime);
        command.Parameters.AddWithValue("until", (range.Until ?? DateTimeOffset.MaxValue).UtcDateTime);
    }
}
