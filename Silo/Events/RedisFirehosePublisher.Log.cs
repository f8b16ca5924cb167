namespace Orleans.Im.Silo.Events;

public sealed partial class RedisFirehosePublisher
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Event firehose disabled (IM:Events:Enabled=false)")]
        public static partial void Disabled(ILogger logger);

        [LoggerMessage(2, LogLevel.Warning, "Event firehose: Redis unavailable; buffering events (backlog {Backlog})")]
        public static partial void RedisUnavailable(ILogger logger, int backlog);

        [LoggerMessage(3, LogLevel.Information, "Event firehose: Redis is back; backlog {Backlog}")]
        public static partial void RedisBack(ILogger logger, int backlog);

        [LoggerMessage(4, LogLevel.Error, "Event firehose: buffer full ({Capacity} events or {Megabytes} MiB); {Dropped} oldest events dropped — re-publish them with the replay command")]
        public static partial void Dropped(ILogger logger, long dropped, int capacity, long megabytes);

        [LoggerMessage(5, LogLevel.Debug, "Event firehose: write failed: {Reason}")]
        public static partial void WriteFailed(ILogger logger, string reason);

        [LoggerMessage(6, LogLevel.Error, "Event firehose: {Backlog} events not published before shutdown — re-publish them with the replay command")]
        public static partial void LostOnStop(ILogger logger, int backlog);
    }
}
