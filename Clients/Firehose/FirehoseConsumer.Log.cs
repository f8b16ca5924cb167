using Microsoft.Extensions.Logging;

namespace Orleans.Im.Firehose;

public sealed partial class FirehoseConsumer
{
    private static partial class Log
    {
        [LoggerMessage(1, LogLevel.Information, "Firehose group {Group}/{Consumer}: resuming {Count} unacknowledged entries of {Stream}")]
        public static partial void ResumingPending(ILogger logger, string group, string consumer, int count, string stream);

        [LoggerMessage(2, LogLevel.Warning, "Firehose group {Group}/{Consumer}: claimed {Count} entries of {Stream} left by a consumer that went away")]
        public static partial void Claimed(ILogger logger, string group, string consumer, int count, string stream);

        [LoggerMessage(3, LogLevel.Warning, "Firehose: entry {EntryId} of {Stream} is not a firehose event; acknowledged and skipped")]
        public static partial void Malformed(ILogger logger, string stream, string entryId);

        [LoggerMessage(4, LogLevel.Warning, "Firehose group {Group}/{Consumer}: {Count} entries of {Stream} were claimed by another consumer while this one could not renew its hold; left to it")]
        public static partial void ClaimedAway(ILogger logger, string group, string consumer, int count, string stream);

        [LoggerMessage(6, LogLevel.Warning, "Firehose group {Group}/{Consumer}: Redis unavailable ({Reason}); starting over in {Delay}")]
        public static partial void RedisUnavailable(ILogger logger, string group, string consumer, string reason, TimeSpan delay);

        [LoggerMessage(5, LogLevel.Debug, "Firehose group {Group}/{Consumer}: renewing the hold on pending entries failed: {Reason}")]
        public static partial void RenewFailed(ILogger logger, string group, string consumer, string reason);
    }
}
